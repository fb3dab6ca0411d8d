// SPDX-License-Identifier: GPL-2.0
/*
 * The examples from the original splice threads, run in the guest:
 * a file sent to a socket behind a header, a stream teed to a file and a
 * socket, user memory given to a pipe with vmsplice and the count that
 * says when it is free again, and a socket forwarded to another socket
 * with no pipe of the caller's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define FILE_BYTES	(64 * 1024)

/* Ours only: <linux/splice.h> and <linux/fcntl.h> of the series. */
#ifndef SPLICE_F_DIRECT
#define SPLICE_F_DIRECT		0x10
#endif
#ifndef SPLICE_F_TRACK
#define SPLICE_F_TRACK		0x40
#endif
#ifndef F_GETPIPE_RELEASED
#define F_GETPIPE_RELEASED	(1024 + 15)
#endif

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static int make_file(const char *path, size_t len)
{
	char buf[4096];
	size_t i, done = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	check(fd >= 0, "open");
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 'a' + i % 26;
	while (done < len) {
		check(write(fd, buf, sizeof(buf)) == sizeof(buf), "write");
		done += sizeof(buf);
	}
	check(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	return fd;
}

/*
 * Whether data moved by reference shows from user space: change the source
 * after the call and look at what arrives.  A copy keeps the old byte; a
 * reference to the same page sees the new one.
 */
#define MARK	'#'

static void mark(int file)
{
	check(pwrite(file, (char[]){ MARK }, 1, 0) == 1, "pwrite");
}

static const char *how(char first, const char *who)
{
	static char line[128];

	if (first == MARK)
		snprintf(line, sizeof(line), "by reference (a later write to the source reached %s)", who);
	else
		snprintf(line, sizeof(line), "by copy (%s kept the old bytes)", who);
	return line;
}

/* Read exactly len bytes from fd, or die. */
static void drain(int fd, char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = read(fd, buf, len);
		check(n > 0, "read");
		buf += n;
		len -= n;
	}
}

static void header_and_file_to_socket(void)
{
	static char got[FILE_BYTES + 64];
	const char hdr[] = "HTTP/1.0 200 OK\r\n\r\n";
	int p[2], sv[2], file = make_file("/tmp/demo-file", FILE_BYTES);
	loff_t off = 0;
	ssize_t in, out;

	check(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "setup");
	check(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) > 0, "F_SETPIPE_SZ");
	check(write(p[1], hdr, strlen(hdr)) == (ssize_t)strlen(hdr), "write header");
	in = splice(file, &off, p[1], NULL, FILE_BYTES, SPLICE_F_MOVE);
	check(in == FILE_BYTES, "splice file -> pipe");
	out = splice(p[0], NULL, sv[0], NULL, in + strlen(hdr), SPLICE_F_MORE);
	check(out == in + (ssize_t)strlen(hdr), "splice pipe -> socket");
	mark(file);
	drain(sv[1], got, out);
	check(memcmp(got, hdr, strlen(hdr)) == 0 && got[strlen(hdr) + 1] == 'b', "verify");
	printf("file -> socket behind a header: %zu header bytes copied by write(), %zd file bytes spliced %s\n",
	       strlen(hdr), in, how(got[strlen(hdr)], "the peer"));
	close(file), close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

static void tee_to_file_and_socket(void)
{
	static char got[FILE_BYTES];
	int in[2], copy[2], sv[2], file = make_file("/tmp/demo-src", FILE_BYTES);
	int log = open("/tmp/demo-log", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ssize_t n, teed, logged, sent;

	check(log >= 0 && pipe(in) == 0 && pipe(copy) == 0, "setup");
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	n = splice(file, NULL, in[1], NULL, 16384, 0);
	check(n == 16384, "splice file -> pipe");
	teed = tee(in[0], copy[1], n, 0);
	check(teed == n, "tee");
	mark(file);
	logged = splice(copy[0], NULL, log, NULL, teed, 0);
	sent = splice(in[0], NULL, sv[0], NULL, n, 0);
	check(logged == n && sent == n, "splice to file and socket");
	drain(sv[1], got, sent);
	check(pread(log, got + 8192, 8192, 0) == 8192 && memcmp(got, got + 8192, 8192) == 0,
	      "verify");
	printf("tee: %zd bytes to a file and %zd to a socket from one splice, %s\n",
	       logged, sent, how(got[0], "both"));
	close(file), close(log), close(in[0]), close(in[1]);
	close(copy[0]), close(copy[1]), close(sv[0]), close(sv[1]);
}

static unsigned long long released(int fd)
{
	unsigned long long count = 0;

	check(fcntl(fd, F_GETPIPE_RELEASED, &count) == 0, "F_GETPIPE_RELEASED");
	return count;
}

static void vmsplice_logger(void)
{
	static char msg[4096] __attribute__((aligned(4096)));
	char got[sizeof(msg)];
	struct iovec iov = { msg, sizeof(msg) };
	unsigned long long before;
	int p[2];
	ssize_t n;

	check(pipe(p) == 0, "pipe");
	memset(msg, 'L', sizeof(msg));
	n = vmsplice(p[1], &iov, 1, SPLICE_F_TRACK);
	check(n == sizeof(msg), "vmsplice");
	before = released(p[1]);
	msg[0] = MARK;
	drain(p[0], got, n);
	check(memcmp(got + 1, msg + 1, n - 1) == 0, "verify");
	printf("vmsplice: %zd bytes of user memory into a pipe, %s\n", n, how(got[0], "the reader"));
	printf("vmsplice: F_GETPIPE_RELEASED says %llu bytes free for reuse before the read, %llu after\n",
	       before, released(p[1]));
	close(p[0]), close(p[1]);
}

static void socket_to_socket(void)
{
	static char got[FILE_BYTES];
	int a[2], b[2];
	ssize_t n;

	check(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0, "socketpair");
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0, "socketpair");
	memset(got, 'S', sizeof(got));
	check(write(a[1], got, sizeof(got)) == sizeof(got), "write");
	n = splice(a[0], NULL, b[0], NULL, sizeof(got), SPLICE_F_DIRECT);
	check(n == sizeof(got), "splice socket -> socket");
	memset(got, 0, sizeof(got));
	drain(b[1], got, n);
	check(got[0] == 'S' && got[n - 1] == 'S', "verify");
	printf("socket -> socket: %zd bytes by one splice(SPLICE_F_DIRECT) with no pipe of the caller's\n", n);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	header_and_file_to_socket();
	tee_to_file_and_socket();
	vmsplice_logger();
	socket_to_socket();
	printf("demo: all examples worked\n");
	return 0;
}
