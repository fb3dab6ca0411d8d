// SPDX-License-Identifier: GPL-2.0
/*
 * splice-bench REPS: throughput of each splice path in the guest, at chunk
 * sizes 4 KiB .. 1 MiB and at the default and a 1 MiB pipe size, plus the
 * cost of one small call and the guest's memcpy bandwidth, and what an
 * open()+close() and a small call cost while another user holds HELD pipes
 * with a tracked vmsplice() call unread in each (on stock, an untracked
 * one): the state the series' calls keep must cost no one else anything.
 *
 * Run under QEMU -icount, where guest time counts instructions, so two runs
 * of one kernel agree closely.  Prints one line per measurement:
 *   BENCH path chunk pipe_size rep MB/s
 *   BENCHNS name bytes rep ns-per-call
 * scripts/bench-report turns them into bench/RESULTS.md and plots.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOTAL		(4 << 20)	/* bytes per measurement */
#define MAX_CHUNK	(1 << 20)
#define LOG_MEM		(4 * MAX_CHUNK)	/* the largest logger ring */

static const size_t chunks[] = { 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20 };
static const int pipe_sizes[] = { 64 << 10, 1 << 20 };

static int src_file, dst_file, devnull;
static char *buf;
static char *log_mem;	/* the loggers' ring, faulted in once for all */

static void die(const char *what)
{
	fprintf(stderr, "splice-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_pipe(int p[2], int size)
{
	if (pipe(p) || fcntl(p[1], F_SETPIPE_SZ, size) < size)
		die("pipe");
}

static void close_pipe(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* Move exactly @len bytes from pipe @in to @out, or die. */
static void drain(int in, int out, size_t len)
{
	while (len) {
		ssize_t n = splice(in, NULL, out, NULL, len, SPLICE_F_MORE);

		if (n <= 0)
			die("splice from pipe");
		len -= n;
	}
}

/* Move exactly @len bytes from pipe @in to the destination file at *@pos. */
static void drain_to_file(int in, loff_t *pos, size_t len)
{
	while (len) {
		ssize_t n = splice(in, NULL, dst_file, pos, len, 0);

		if (n <= 0)
			die("splice to file");
		len -= n;
	}
}

/* Fill pipe @out from the source file at *@off, wrapping at its end. */
static size_t fill(int out, loff_t *off, size_t len)
{
	ssize_t n;

	if (*off >= TOTAL)
		*off = 0;
	if ((loff_t)len > TOTAL - *off)
		len = TOTAL - *off;
	n = splice(src_file, off, out, NULL, len, SPLICE_F_MORE);
	if (n <= 0)
		die("splice from file");
	return n;
}

/* Write all @len bytes at @data to @fd, or die. */
static void write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			die("write");
		data += n;
		len -= n;
	}
}

/*
 * Both buffers of a TCP socket fixed (to net.core.[rw]mem_max, which the
 * kernel doubles).  Left to autotuning, a connection's buffers grow by how
 * fast its first round trips go, so each run settled at one of two speeds
 * about 4% apart on both kernels, and a row's median followed whichever
 * kernel had more runs at the faster one.
 */
#define TCP_BUF_BYTES	(256 << 10)

static void fix_tcp_buffers(int fd)
{
	int bytes = TCP_BUF_BYTES;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)))
		die("setsockopt");
}

/*
 * A TCP connection over loopback: *@a connects to *@b, which inherits its
 * buffers from the listener.
 */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0)
		die("socket");
	fix_tcp_buffers(l);
	if (bind(l, (void *)&sa, len) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		die("listen");
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0)
		die("socket");
	fix_tcp_buffers(*a);
	if (connect(*a, (void *)&sa, len))
		die("connect");
	*b = accept(l, NULL, NULL);
	if (*b < 0)
		die("accept");
	close(l);
}

/* Thread: read and discard what arrives on a socket until EOF. */
static void *sink(void *arg)
{
	static char junk[MAX_CHUNK];
	int fd = *(int *)arg;

	while (read(fd, junk, sizeof(junk)) > 0)
		;
	return NULL;
}

/* Thread: write TOTAL bytes to a socket, then shut it down. */
static void *source(void *arg)
{
	static char data[64 << 10];
	int fd = *(int *)arg;
	size_t left = TOTAL;

	while (left) {
		ssize_t n = write(fd, data, left < sizeof(data) ? left : sizeof(data));

		if (n <= 0)
			die("write socket");
		left -= n;
	}
	shutdown(fd, SHUT_WR);
	return NULL;
}

struct run {
	size_t chunk;
	int pipe_size;
};

static void file_pipe_null(const struct run *r)
{
	loff_t off = 0;
	size_t done;
	int p[2];

	make_pipe(p, r->pipe_size);
	for (done = 0; done < TOTAL; ) {
		size_t n = fill(p[1], &off, r->chunk);

		drain(p[0], devnull, n);
		done += n;
	}
	close_pipe(p);
}

static void file_pipe_file(const struct run *r)
{
	loff_t in = 0, out = 0;
	size_t done;
	int p[2];

	make_pipe(p, r->pipe_size);
	for (done = 0; done < TOTAL; ) {
		size_t n = fill(p[1], &in, r->chunk);

		drain_to_file(p[0], &out, n);
		done += n;
	}
	close_pipe(p);
}

/* file -> TCP: by splice through a pipe, by sendfile, or by read/write. */
enum to_socket { BY_SPLICE, BY_SENDFILE, BY_READ_WRITE };

static void file_to_tcp(const struct run *r, enum to_socket how)
{
	loff_t off = 0;
	size_t done = 0;
	pthread_t thr;
	int a, b, p[2];

	tcp_pair(&a, &b);
	make_pipe(p, r->pipe_size);
	pthread_create(&thr, NULL, sink, &b);
	while (done < TOTAL) {
		ssize_t n;

		if (how == BY_SPLICE) {
			n = fill(p[1], &off, r->chunk);
			drain(p[0], a, n);
		} else if (how == BY_SENDFILE) {
			n = sendfile(a, src_file, &off, r->chunk);
		} else {
			n = pread(src_file, buf, r->chunk, off);
			if (n > 0 && write(a, buf, n) != n)
				die("write socket");
			off += n;
		}
		if (n <= 0)
			die("file to socket");
		done += n;
		if (off >= TOTAL)
			off = 0;
	}
	close(a);
	pthread_join(thr, NULL);
	close(b);
	close_pipe(p);
}

static void file_tcp_splice(const struct run *r)
{
	file_to_tcp(r, BY_SPLICE);
}

static void file_tcp_sendfile(const struct run *r)
{
	file_to_tcp(r, BY_SENDFILE);
}

static void file_tcp_read_write(const struct run *r)
{
	file_to_tcp(r, BY_READ_WRITE);
}

#ifndef SPLICE_F_DIRECT
#define SPLICE_F_DIRECT		0x10
#endif

/*
 * splice(SPLICE_F_DIRECT) between two files neither of which is a pipe
 * (ours only): stock rejects the flag with EINVAL, ours goes through a pipe
 * of its own and finds nothing to read on an empty non-blocking socket.
 */
static bool splice_nonpipe_works(void)
{
	int s[2], t[2];
	bool works;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, t) ||
	    fcntl(s[0], F_SETFL, O_NONBLOCK))
		die("probe socketpair");
	works = splice(s[0], NULL, t[0], NULL, 1,
		       SPLICE_F_DIRECT | SPLICE_F_NONBLOCK) < 0 &&
		errno == EAGAIN;
	close(s[0]);
	close(s[1]);
	close(t[0]);
	close(t[1]);
	return works;
}

/*
 * A proxy: TCP -> TCP, with a writer and a reader thread.  By splice
 * through a pipe, the upstream way; by one splice() from socket to socket,
 * through the call's own pipe (ours only); or by read() and write()
 * through a buffer, the classic user-space proxy.  Only the first uses the
 * pipe, but all run at both pipe sizes so that every path has the same
 * table rows and plot lines: for the others the two are one figure twice.
 */
enum forward { VIA_PIPE, SOCKET_TO_SOCKET, VIA_BUFFER };

/* Forward up to one chunk from @in to @out: the bytes, 0 at end of input. */
static ssize_t forward(int in, int out, int p[2], const struct run *r,
		       enum forward how)
{
	ssize_t n;

	if (how == VIA_PIPE) {
		n = splice(in, NULL, p[1], NULL, r->chunk, SPLICE_F_MOVE);
		if (n > 0)
			drain(p[0], out, n);
	} else if (how == SOCKET_TO_SOCKET) {
		n = splice(in, NULL, out, NULL, r->chunk,
			   SPLICE_F_DIRECT | SPLICE_F_MOVE);
	} else {
		n = read(in, buf, r->chunk);
		if (n > 0)
			write_all(out, buf, n);
	}
	return n;
}

/* Forward from @in to @out until end of input; @what names a failure. */
static void forward_all(int in, int out, int p[2], const struct run *r,
			enum forward how, const char *what)
{
	ssize_t n;

	while ((n = forward(in, out, p, r, how)) > 0)
		;
	if (n < 0)
		die(what);
}

static void tcp_to_tcp(const struct run *r, enum forward how)
{
	pthread_t in_thr, out_thr;
	int in_a, in_b, out_a, out_b, p[2];

	tcp_pair(&in_a, &in_b);
	tcp_pair(&out_a, &out_b);
	make_pipe(p, r->pipe_size);
	pthread_create(&in_thr, NULL, source, &in_a);
	pthread_create(&out_thr, NULL, sink, &out_b);
	forward_all(in_b, out_a, p, r, how, "forward from socket");
	close(out_a);
	pthread_join(in_thr, NULL);
	pthread_join(out_thr, NULL);
	close(in_a);
	close(in_b);
	close(out_b);
	close_pipe(p);
}

static void tcp_pipe_tcp(const struct run *r)
{
	tcp_to_tcp(r, VIA_PIPE);
}

static void tcp_tcp_splice(const struct run *r)
{
	tcp_to_tcp(r, SOCKET_TO_SOCKET);
}

static void tcp_read_write(const struct run *r)
{
	tcp_to_tcp(r, VIA_BUFFER);
}

/*
 * socket -> pipe -> /dev/null: a thread writes TOTAL bytes into a TCP
 * connection or a unix stream socket pair, and splice() takes them into a
 * pipe by reference to the socket buffers' pages.
 */
static void socket_pipe_null(const struct run *r, bool tcp)
{
	pthread_t thr;
	int a, b, p[2];

	if (tcp) {
		tcp_pair(&a, &b);
	} else {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			die("socketpair");
		a = sv[0];
		b = sv[1];
	}
	make_pipe(p, r->pipe_size);
	pthread_create(&thr, NULL, source, &a);
	forward_all(b, devnull, p, r, VIA_PIPE, "splice from socket");
	pthread_join(thr, NULL);
	close(a);
	close(b);
	close_pipe(p);
}

static void tcp_pipe_null(const struct run *r)
{
	socket_pipe_null(r, true);
}

static void unix_pipe_null(const struct run *r)
{
	socket_pipe_null(r, false);
}

/*
 * One pipe's buffers duplicated into @nr_out pipes, each drained to
 * /dev/null: by one tee() per output, or by one teev() for all (ours only:
 * syscall 463 on x86-64).  The input is filled once and never consumed.
 */
#define MAX_FANOUT	4

static bool teev_works(void)
{
	return syscall(463, -1, NULL, 1, 1, 0) < 0 && errno != ENOSYS;
}

/*
 * Set by a path that times only part of its work (the fan-out calls, not
 * the drains): run_path() then reports that instead of the whole run.
 */
static double part_secs;

static void tee_into(const struct run *r, int nr_out, bool one_call,
		     bool time_fanout)
{
	size_t done, want = r->chunk;
	int p[2], q[MAX_FANOUT][2], wfds[MAX_FANOUT];
	loff_t off = 0;
	int i;

	make_pipe(p, r->pipe_size);
	for (i = 0; i < nr_out; i++) {
		make_pipe(q[i], r->pipe_size);
		wfds[i] = q[i][1];
	}
	if (want > (size_t)r->pipe_size)
		want = r->pipe_size;
	while (off < (loff_t)want)
		fill(p[1], &off, want - off);
	for (done = 0; done < TOTAL; ) {
		double t = time_fanout ? now() : 0;
		ssize_t n = 0;

		if (one_call) {
			n = syscall(463, p[0], wfds, nr_out, want, 0);
		} else {
			for (i = 0; i < nr_out; i++)
				n = tee(p[0], wfds[i], want, 0);
		}
		if (time_fanout)
			part_secs += now() - t;
		if (n <= 0)
			die("tee");
		for (i = 0; i < nr_out; i++)
			drain(q[i][0], devnull, n);
		done += n;
	}
	close_pipe(p);
	for (i = 0; i < nr_out; i++)
		close_pipe(q[i]);
}

static void tee_pipe(const struct run *r)
{
	tee_into(r, 1, false, false);
}

static void tee_4_calls(const struct run *r)
{
	tee_into(r, MAX_FANOUT, false, false);
}

static void teev_4(const struct run *r)
{
	tee_into(r, MAX_FANOUT, true, false);
}

/* The same, timing only the fan-out: four tee() calls or one teev(). */
static void tee_4_calls_fanout(const struct run *r)
{
	tee_into(r, MAX_FANOUT, false, true);
}

static void teev_4_fanout(const struct run *r)
{
	tee_into(r, MAX_FANOUT, true, true);
}

static void vmsplice_pipe_file(const struct run *r)
{
	loff_t out = 0;
	size_t done;
	int p[2];

	make_pipe(p, r->pipe_size);
	for (done = 0; done < TOTAL; ) {
		struct iovec iov = { buf, r->chunk };
		ssize_t n = vmsplice(p[1], &iov, 1, 0);

		if (n <= 0)
			die("vmsplice");
		drain_to_file(p[0], &out, n);
		done += n;
	}
	close_pipe(p);
}

/* file -> pipe -> pipe -> /dev/null: the middle move is what differs. */
static void pipe_pipe(const struct run *r)
{
	loff_t off = 0;
	size_t done;
	int p[2], q[2];

	make_pipe(p, r->pipe_size);
	make_pipe(q, r->pipe_size);
	for (done = 0; done < TOTAL; ) {
		size_t n = fill(p[1], &off, r->chunk);

		drain(p[0], q[1], n);
		drain(q[0], devnull, n);
		done += n;
	}
	close_pipe(p);
	close_pipe(q);
}

/*
 * The seeds' zero-copy logger: records formatted into a user ring and
 * handed to a pipe, whose reader (here the same thread, to /dev/null)
 * consumes them.  By write(), which copies; by vmsplice() into a ring
 * twice the pipe's size, the 2006 way, which holds only because the pipe
 * never has more than half the ring, so a region's last lap has left it
 * before the ring comes back (not so once a consumer keeps the pages:
 * tee(), a socket still sending); or by vmsplice(SPLICE_F_TRACK) into a
 * ring of four chunks, waiting for F_GETPIPE_RELEASED to cover a region
 * before overwriting it (ours only).  A call hands over at most the pipe's
 * size, so none waits for a reader that is the same thread: chunks above
 * it repeat that figure.
 */
#ifndef SPLICE_F_TRACK
#define SPLICE_F_TRACK		0x40
#endif
#ifndef F_GETPIPE_RELEASED
#define F_GETPIPE_RELEASED	(1024 + 15)	/* F_LINUX_SPECIFIC_BASE + 15 */
#endif

enum log_by { LOG_WRITE, LOG_VMSPLICE_DOUBLE, LOG_VMSPLICE_TRACK };

struct log_ring {
	size_t size;
	size_t pos;		/* where the next record goes */
	uint64_t given;		/* bytes handed to the pipe so far */
	uint64_t released;	/* what F_GETPIPE_RELEASED said last */
};

/* vmsplice() of one byte with SPLICE_F_TRACK: 1 on ours, EINVAL on stock. */
static bool track_works(void)
{
	static char byte;
	struct iovec iov = { &byte, 1 };
	int p[2];
	bool works;

	make_pipe(p, 64 << 10);
	works = vmsplice(p[1], &iov, 1, SPLICE_F_TRACK) == 1;
	if (works)
		drain(p[0], devnull, 1);
	close_pipe(p);
	return works;
}

/* Write one byte in each page of @region, as formatting records would. */
static void touch_ring(char *region, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		region[i] = 'a' + i / 4096 % 26;
}

/*
 * Before overwriting the ring's next @len bytes, wait until the pipe has
 * released what they held a lap ago: the first given + @len - size bytes
 * it was given.  Most regions need no call: the last count covers them.
 */
static void wait_released(int fd, struct log_ring *ring, size_t len)
{
	uint64_t target;

	if (ring->given + len <= ring->size)
		return;
	target = ring->given + len - ring->size;
	if (ring->released >= target)
		return;
	if (fcntl(fd, F_GETPIPE_RELEASED, &target))
		die("F_GETPIPE_RELEASED");
	ring->released = target;
}

/* Hand the pipe @len bytes of the ring at @region: the bytes it took. */
static size_t log_record(int fd, char *region, size_t len, enum log_by how)
{
	struct iovec iov = { region, len };
	ssize_t n;

	if (how == LOG_WRITE)
		n = write(fd, region, len);
	else if (how == LOG_VMSPLICE_DOUBLE)
		n = vmsplice(fd, &iov, 1, 0);
	else
		n = vmsplice(fd, &iov, 1, SPLICE_F_TRACK);
	if (n <= 0)
		die("log record");
	return n;
}

static void logger(const struct run *r, enum log_by how)
{
	struct log_ring ring = { .pos = 0 };
	size_t chunk = r->chunk, pipe_size;
	int p[2];

	make_pipe(p, r->pipe_size);
	pipe_size = fcntl(p[1], F_GETPIPE_SZ);
	if (chunk > pipe_size)
		chunk = pipe_size;
	/*
	 * The 2006 ring must be twice the pipe, and the tracked logger is
	 * that same ring made safe: it waits for its pages instead of
	 * trusting the pipe's size.  write() copies: four chunks do.
	 */
	if (how == LOG_WRITE)
		ring.size = 4 * chunk;
	else
		ring.size = 2 * pipe_size;
	while (ring.given < TOTAL) {
		char *region = log_mem + ring.pos;
		size_t len = chunk, n;

		if (len > ring.size - ring.pos)
			len = ring.size - ring.pos;
		if (how == LOG_VMSPLICE_TRACK)
			wait_released(p[1], &ring, len);
		touch_ring(region, len);
		n = log_record(p[1], region, len, how);
		drain(p[0], devnull, n);
		ring.given += n;
		ring.pos = (ring.pos + n) % ring.size;
	}
	close_pipe(p);
}

static void logger_write(const struct run *r)
{
	logger(r, LOG_WRITE);
}

static void logger_vmsplice_double(const struct run *r)
{
	logger(r, LOG_VMSPLICE_DOUBLE);
}

static void logger_vmsplice_track(const struct run *r)
{
	logger(r, LOG_VMSPLICE_TRACK);
}

/*
 * Two CPUs: a producer and a consumer in separate processes, pinned to
 * CPUs 0 and 1, so that what is measured includes the wakeups, the pipe
 * lock's hand-offs and the sleeps between them.  The producer hands over
 * SMP_CHUNK at a time, alternating between the two halves of a buffer of
 * twice that (vmsplice's double buffering), into a pipe of SMP_CHUNK.
 */
#define SMP_CHUNK	(256 << 10)
#define SMP_TOTAL	(64 << 20)

enum smp_how {
	SMP_WRITE_READ,		/* write() -> pipe -> read() */
	SMP_VMSPLICE_READ,	/* vmsplice() -> pipe -> read() */
	SMP_VMSPLICE_SPLICE,	/* vmsplice() -> pipe -> splice() to /dev/null */
	SMP_PIPE_PIPE,		/* vmsplice() -> pipe -> splice() -> pipe -> /dev/null */
	SMP_TEE,		/* vmsplice() -> pipe, tee() to a pipe, both drained */
};

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* The consumer's side of @how, until end of data on @in. */
static void smp_consume(enum smp_how how, int in, int q[2])
{
	static char rbuf[SMP_CHUNK];
	ssize_t n;

	for (;;) {
		switch (how) {
		case SMP_WRITE_READ:
		case SMP_VMSPLICE_READ:
			n = read(in, rbuf, sizeof(rbuf));
			break;
		case SMP_VMSPLICE_SPLICE:
			n = splice(in, NULL, devnull, NULL, SMP_CHUNK, 0);
			break;
		case SMP_PIPE_PIPE:
			n = splice(in, NULL, q[1], NULL, SMP_CHUNK, 0);
			if (n > 0)
				drain(q[0], devnull, n);
			break;
		case SMP_TEE:
			n = tee(in, q[1], SMP_CHUNK, 0);
			if (n > 0) {
				drain(q[0], devnull, n);
				drain(in, devnull, n);
			}
			break;
		}
		if (n == 0)
			return;
		if (n < 0)
			die("smp consumer");
	}
}

/* Iterations of smp_spin() before each producer call, set per run. */
static unsigned long smp_call_spin;

static void smp_spin(unsigned long iterations)
{
	volatile unsigned long spin;

	for (spin = 0; spin < iterations; spin++)
		;
}

/* The producer's side: SMP_TOTAL bytes into @out. */
static void smp_produce(enum smp_how how, int out)
{
	size_t done;

	for (done = 0; done < SMP_TOTAL; ) {
		char *half = buf + (done / SMP_CHUNK % 2) * SMP_CHUNK;
		size_t off = done % SMP_CHUNK;
		struct iovec iov = { half + off, SMP_CHUNK - off };
		ssize_t n;

		smp_spin(smp_call_spin);
		if (how == SMP_WRITE_READ)
			n = write(out, iov.iov_base, iov.iov_len);
		else
			n = vmsplice(out, &iov, 1, 0);
		if (n <= 0)
			die("smp producer");
		done += n;
	}
}

/*
 * Under -icount the two vCPUs take turns in slices of instructions, and
 * where the producer's calls fall in those slices decides who sleeps and
 * for how long.  The two sides lock into a pattern within a few calls,
 * whatever the start: a different start alone gives the same figure
 * again, while a few instructions more or less per call (a change of the
 * kernel's code, or of this program's) move a row by 20%.  Each
 * repetition therefore both starts the producer after a different number
 * of instructions and gives each of its calls a different number of
 * instructions before it (up to some 1,000 at the ninth, against about
 * 25,000 that a 256 KiB call costs), the same on every kernel, so that
 * the median over the repetitions is one over patterns, not one pattern
 * measured again.
 */
static void smp_shift_phase(int rep)
{
	smp_spin((unsigned long)rep * 100003);
	smp_call_spin = (unsigned long)rep * 31;
}

/* MB/s of guest time from the consumer's start to its end of data. */
static double smp_pipe(enum smp_how how, int rep)
{
	int p[2], q[2], ready[2];
	double t;
	pid_t pid;
	char c = 0;

	make_pipe(p, SMP_CHUNK);
	make_pipe(q, SMP_CHUNK);
	if (pipe(ready))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		pin_to_cpu(1);
		close(p[1]);
		if (write(ready[1], &c, 1) != 1)
			die("ready");
		smp_consume(how, p[0], q);
		_exit(0);
	}
	pin_to_cpu(0);
	close(p[0]);
	if (read(ready[0], &c, 1) != 1)
		die("consumer");
	smp_shift_phase(rep);
	t = now();
	smp_produce(how, p[1]);
	close(p[1]);
	waitpid(pid, NULL, 0);
	t = now() - t;
	close_pipe(q);
	close(ready[0]);
	close(ready[1]);
	return SMP_TOTAL / t / 1e6;
}

/*
 * TCP forwarding: the producer writes to a connection, a forwarder on the
 * other CPU splices it through a pipe (or, @how SOCKET_TO_SOCKET, straight)
 * to a second connection, which a thread of the producer reads and
 * discards.
 */
static double smp_tcp_forward(int rep, enum forward how)
{
	int in_a, in_b, out_a, out_b, p[2];
	pthread_t out_thr;
	size_t left;
	double t;
	pid_t pid;

	tcp_pair(&in_a, &in_b);
	tcp_pair(&out_a, &out_b);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		struct run r = { 64 << 10, 64 << 10 };

		pin_to_cpu(1);
		close(in_a);
		close(out_b);
		make_pipe(p, r.pipe_size);
		forward_all(in_b, out_a, p, &r, how, "smp forward");
		_exit(0);
	}
	pin_to_cpu(0);
	close(in_b);
	close(out_a);
	smp_shift_phase(rep);
	t = now();
	pthread_create(&out_thr, NULL, sink, &out_b);
	for (left = SMP_TOTAL; left; ) {
		ssize_t n = write(in_a, buf, left < SMP_CHUNK ? left : SMP_CHUNK);

		if (n <= 0)
			die("write socket");
		left -= n;
	}
	shutdown(in_a, SHUT_WR);
	pthread_join(out_thr, NULL);
	t = now() - t;
	waitpid(pid, NULL, 0);
	close(in_a);
	close(out_b);
	return SMP_TOTAL / t / 1e6;
}

static const struct {
	const char *name;
	enum smp_how how;
} smp_paths[] = {
	{ "smp-write-read", SMP_WRITE_READ },
	{ "smp-vmsplice-read", SMP_VMSPLICE_READ },
	{ "smp-vmsplice-splice", SMP_VMSPLICE_SPLICE },
	{ "smp-pipe-pipe", SMP_PIPE_PIPE },
	{ "smp-tee", SMP_TEE },
};

#define SMP_TCP_ROW	"smp-tcp-pipe-tcp"
#define SMP_TCP_DIRECT_ROW	"smp-tcp-tcp-splice"	/* ours only */

/*
 * "smp REPS [ROW]": the two-CPU figures, for a guest with two vCPUs; with
 * ROW, that row alone, in a guest booted for it (as the one-CPU groups:
 * the phases at which the two vCPUs' slices fall carry over from row to
 * row within a boot).
 */
static int smp(int reps, const char *only)
{
	size_t i;
	int rep;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "smp: needs two CPUs\n");
		return 1;
	}
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < sizeof(smp_paths) / sizeof(smp_paths[0]); i++) {
			if (only && strcmp(only, smp_paths[i].name))
				continue;
			printf("BENCH %s %d %d %d %.1f\n", smp_paths[i].name,
			       SMP_CHUNK, SMP_CHUNK, rep,
			       smp_pipe(smp_paths[i].how, rep));
		}
		if (!only || !strcmp(only, SMP_TCP_ROW))
			printf("BENCH %s %d %d %d %.1f\n", SMP_TCP_ROW,
			       64 << 10, 64 << 10, rep,
			       smp_tcp_forward(rep, VIA_PIPE));
		if ((!only || !strcmp(only, SMP_TCP_DIRECT_ROW)) &&
		    splice_nonpipe_works())
			printf("BENCH %s %d %d %d %.1f\n", SMP_TCP_DIRECT_ROW,
			       64 << 10, 64 << 10, rep,
			       smp_tcp_forward(rep, SOCKET_TO_SOCKET));
	}
	return 0;
}

/* "smp-groups": the rows "smp REPS ROW" takes, one per line. */
static int list_smp_groups(void)
{
	size_t i;

	for (i = 0; i < sizeof(smp_paths) / sizeof(smp_paths[0]); i++)
		printf("%s\n", smp_paths[i].name);
	printf("%s\n%s\n", SMP_TCP_ROW, SMP_TCP_DIRECT_ROW);
	return 0;
}

/*
 * @works says whether this kernel has what the path needs (NULL: every
 * kernel has); a path only ours runs has a path doing the same job with
 * stock calls, for the report's table of our kernel's own figures.
 */
static const struct path {
	const char *name;
	void (*fn)(const struct run *r);
	bool (*works)(void);
} paths[] = {
	{ "file-pipe-null", file_pipe_null, NULL },
	{ "file-pipe-file", file_pipe_file, NULL },
	{ "file-tcp-splice", file_tcp_splice, NULL },
	{ "file-tcp-sendfile", file_tcp_sendfile, NULL },
	{ "file-tcp-read-write", file_tcp_read_write, NULL },
	{ "tcp-pipe-tcp", tcp_pipe_tcp, NULL },
	{ "tcp-read-write", tcp_read_write, NULL },
	{ "tcp-pipe-null", tcp_pipe_null, NULL },
	{ "unix-pipe-null", unix_pipe_null, NULL },
	{ "tcp-tcp-splice", tcp_tcp_splice, splice_nonpipe_works },
	{ "tee", tee_pipe, NULL },
	{ "vmsplice-pipe-file", vmsplice_pipe_file, NULL },
	{ "pipe-pipe", pipe_pipe, NULL },
	{ "tee-4-calls", tee_4_calls, NULL },
	{ "teev-4", teev_4, teev_works },
	{ "tee-4-calls-fanout", tee_4_calls_fanout, NULL },
	{ "teev-4-fanout", teev_4_fanout, teev_works },
	{ "logger-write", logger_write, NULL },
	{ "logger-vmsplice-double", logger_vmsplice_double, NULL },
	{ "logger-vmsplice-track", logger_vmsplice_track, track_works },
};

/*
 * The threads of a socket row run SCHED_FIFO, so that each runs until it
 * blocks on a full or an empty buffer, as it would on a CPU of its own.
 * Under SCHED_OTHER where the tick fell decided where one thread took the
 * CPU from the other, and each run settled at one of two speeds 2-4%
 * apart, on both kernels alike, so that a row's median followed whichever
 * kernel had more runs at the faster one.  With this and fixed TCP buffers
 * (fix_tcp_buffers()) the runs of a socket row agree to within 1%.
 */
static void run_until_blocked(bool on)
{
	struct sched_param sp = { .sched_priority = on ? 1 : 0 };

	if (sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp))
		die("sched_setscheduler");
}

static bool path_uses_sockets(const struct path *path)
{
	return strstr(path->name, "tcp") || strstr(path->name, "unix");
}

static bool path_works(const struct path *path)
{
	return !path->works || path->works();
}

/* One measurement per pipe size and chunk size. */
static void run_path(const struct path *path, int rep)
{
	size_t c, s;

	for (s = 0; s < sizeof(pipe_sizes) / sizeof(pipe_sizes[0]); s++) {
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			struct run r = { chunks[c], pipe_sizes[s] };
			double t = now();

			part_secs = 0;
			path->fn(&r);
			t = part_secs ?: now() - t;
			printf("BENCH %s %zu %d %d %.1f\n", path->name, r.chunk,
			       r.pipe_size, rep, TOTAL / t / 1e6);
		}
	}
}

/* ns per call of one splice file -> pipe and one pipe -> /dev/null. */
#define SMALL_CALLS	2000

static double small_call_ns(size_t bytes)
{
	const int calls = SMALL_CALLS;
	loff_t off;
	double t;
	int i, p[2];

	make_pipe(p, 64 << 10);
	t = now();
	for (i = 0; i < calls; i++) {
		off = 0;
		if (splice(src_file, &off, p[1], NULL, bytes, 0) != (ssize_t)bytes)
			die("small splice");
		drain(p[0], devnull, bytes);
	}
	t = now() - t;
	close_pipe(p);
	return t * 1e9 / (2 * calls);
}

/* ns per open() and close() of the source file. */
static double open_close_ns(void)
{
	const int calls = 2000;
	double t;
	int i;

	t = now();
	for (i = 0; i < calls; i++) {
		int fd = open("/tmp/bench-src", O_RDONLY);

		if (fd < 0)
			die("open");
		close(fd);
	}
	t = now() - t;
	return t * 1e9 / calls;
}

#define HELD		10000
#define NOBODY		65534

/*
 * A child of another user (nobody) that holds HELD pipes, each with one
 * vmsplice()d page: with SPLICE_F_TRACK where the kernel has it, so that
 * each has a tracker and a record.  Returns once they are all made.
 */
static pid_t hold_pipes_as_another_user(void)
{
	struct rlimit rl = { 2 * HELD + 64, 2 * HELD + 64 };
	struct iovec iov = { buf, 4096 };
	unsigned int flags = track_works() ? SPLICE_F_TRACK : 0;
	int ready[2], i;
	char c = 0;
	pid_t pid;

	if (pipe(ready))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		static int held[HELD][2];

		if (setrlimit(RLIMIT_NOFILE, &rl) || setgid(NOBODY) ||
		    setuid(NOBODY))
			die("become nobody");
		for (i = 0; i < HELD; i++) {
			if (pipe(held[i]))
				die("pipe");
			if (vmsplice(held[i][1], &iov, 1, flags) != 4096)
				die("vmsplice held");
		}
		if (write(ready[1], &c, 1) != 1)
			die("ready");
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("holder");
	close(ready[0]);
	return pid;
}

static void stop_holder(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static double memcpy_mbps(void)
{
	char *dst = malloc(MAX_CHUNK);
	double t;
	int i;

	if (!dst)
		die("malloc");
	t = now();
	for (i = 0; i < TOTAL / MAX_CHUNK * 4; i++) {
		memcpy(dst, buf, MAX_CHUNK);
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	t = now() - t;
	free(dst);
	return 4.0 * TOTAL / t / 1e6;
}

static int make_source(void)
{
	int fd = open("/tmp/bench-src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	size_t i;

	if (fd < 0)
		die("open source");
	for (i = 0; i < MAX_CHUNK; i++)
		buf[i] = 'a' + i % 26;
	for (i = 0; i < TOTAL; i += MAX_CHUNK)
		if (write(fd, buf, MAX_CHUNK) != MAX_CHUNK)
			die("write source");
	return fd;
}

/*
 * The marks of scripts/bench-profile's window: its QEMU plugin counts the
 * guest instructions run between the first call of each.  Not inlined, and
 * each does something, so that each is a block of its own at a fixed
 * address of this static binary.
 */
__attribute__((noinline)) void profile_start(void)
{
	__asm__ __volatile__("" ::: "memory");
}

__attribute__((noinline)) void profile_stop(void)
{
	__asm__ __volatile__("" ::: "memory");
}

/* "profile PATH CHUNK PIPE": one run of one path inside the window. */
static int profile(const char *name, size_t chunk, int pipe_size)
{
	struct run r = { chunk, pipe_size };
	size_t p;

	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		if (strcmp(paths[p].name, name))
			continue;
		if (!path_works(&paths[p]))
			break;
		/* A first run outside the window: page cache, slabs, TLB. */
		double t;

		if (path_uses_sockets(&paths[p]))
			run_until_blocked(true);
		paths[p].fn(&r);
		t = now();
		profile_start();
		paths[p].fn(&r);
		profile_stop();
		t = now() - t;
		/* Guest time is instructions plus what passed while idle. */
		printf("PROFILE %s %zu %d pages %d guest-ns %.0f\n", name, chunk,
		       pipe_size, TOTAL / 4096, t * 1e9);
		return 0;
	}
	for (p = 0; p < sizeof(smp_paths) / sizeof(smp_paths[0]); p++) {
		if (strcmp(smp_paths[p].name, name))
			continue;
		smp_pipe(smp_paths[p].how, 0);
		profile_start();
		smp_pipe(smp_paths[p].how, 0);
		profile_stop();
		printf("PROFILE %s %d %d pages %d\n", name, SMP_CHUNK, SMP_CHUNK,
		       SMP_TOTAL / 4096);
		return 0;
	}
	if (!strcmp(name, "splice-call")) {
		small_call_ns(chunk);
		profile_start();
		small_call_ns(chunk);
		profile_stop();
		printf("PROFILE %s %zu %d calls %d\n", name, chunk, pipe_size,
		       2 * SMALL_CALLS);
		return 0;
	}
	fprintf(stderr, "profile: no path %s on this kernel\n", name);
	return 1;
}

/* The rows that time single calls, memcpy's reference line among them. */
static void run_calls(int reps)
{
	int rep;

	for (rep = 0; rep < reps; rep++) {
		printf("BENCH memcpy 1048576 0 %d %.1f\n", rep, memcpy_mbps());
		printf("BENCHNS splice-call 1 %d %.0f\n", rep, small_call_ns(1));
		printf("BENCHNS splice-call 4096 %d %.0f\n", rep, small_call_ns(4096));
		printf("BENCHNS open-close 0 %d %.0f\n", rep, open_close_ns());
	}
}

/*
 * Tearing down the holder's 10,000 pipes leaves deferred work (RCU, slab
 * frees) that would land in the windows of later rows: run these last,
 * or alone.
 */
static void run_held(int reps)
{
	pid_t holder;
	int rep;

	for (rep = 0; rep < reps; rep++) {
		holder = hold_pipes_as_another_user();
		printf("BENCHNS open-close-beside-%d-held 0 %d %.0f\n", HELD, rep,
		       open_close_ns());
		printf("BENCHNS splice-call-beside-%d-held 1 %d %.0f\n", HELD, rep,
		       small_call_ns(1));
		stop_holder(holder);
	}
}

static void run_path_reps(const struct path *path, int reps)
{
	struct run first = { chunks[0], pipe_sizes[0] };
	bool sockets = path_uses_sockets(path);
	int rep;

	if (sockets)
		run_until_blocked(true);
	/* Not measured: the first run of a boot pays for slabs and TLB. */
	path->fn(&first);
	for (rep = 0; rep < reps; rep++)
		run_path(path, rep);
	if (sockets)
		run_until_blocked(false);
}

/*
 * "path NAME REPS": one group of rows alone, in a guest booted for it
 * (NAME is a path, "calls" or "held").  A row's figure depends on what
 * the rows before it in the same boot left behind (the allocators'
 * state, timers, deferred frees), by up to 9%; alone in a fresh boot a
 * path repeats to within 0.1%.
 */
static int run_group(const char *name, int reps)
{
	size_t p;

	if (!strcmp(name, "calls")) {
		run_calls(reps);
		return 0;
	}
	if (!strcmp(name, "held")) {
		run_held(reps);
		return 0;
	}
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		if (strcmp(paths[p].name, name))
			continue;
		if (path_works(&paths[p]))
			run_path_reps(&paths[p], reps);
		return 0;
	}
	fprintf(stderr, "path: no group %s\n", name);
	return 1;
}

/* "groups": the names "path" takes, one per line, in the order to run. */
static int list_groups(void)
{
	size_t p;

	printf("calls\n");
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		printf("%s\n", paths[p].name);
	printf("held\n");
	return 0;
}

/*
 * The buffers that vmsplice() hands over, in small pages in every boot.
 * Left to malloc() under THP "always", they landed wherever ASLR put
 * them, in one anonymous mapping or two, and held a varying number of
 * huge pages: the rows that vmsplice() them moved by up to 15% from boot
 * to boot or build to build of this program, ours more than stock's (it
 * gains more from huge pages).
 */
static char *alloc_small_pages(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("madvise");
	return p;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	size_t p;

	if (argc == 2 && !strcmp(argv[1], "groups"))
		return list_groups();
	if (argc == 2 && !strcmp(argv[1], "smp-groups"))
		return list_smp_groups();
	setvbuf(stdout, NULL, _IOLBF, 0);
	buf = alloc_small_pages(MAX_CHUNK);
	log_mem = alloc_small_pages(LOG_MEM);
	devnull = open("/dev/null", O_WRONLY);
	dst_file = open("/tmp/bench-dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!buf || !log_mem || devnull < 0 || dst_file < 0)
		die("setup");
	/* No logger path should pay for the first touch of its ring. */
	memset(log_mem, 0, LOG_MEM);
	src_file = make_source();
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "smp"))
		return smp(atoi(argv[2]), argc == 4 ? argv[3] : NULL);
	if (argc == 5 && !strcmp(argv[1], "profile"))
		return profile(argv[2], strtoul(argv[3], NULL, 0), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "path"))
		return run_group(argv[2], atoi(argv[3]));

	/* All in one boot: each socket row after every other. */
	run_calls(reps);
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		if (!path_uses_sockets(&paths[p]) && path_works(&paths[p]))
			run_path_reps(&paths[p], reps);
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		if (path_uses_sockets(&paths[p]) && path_works(&paths[p]))
			run_path_reps(&paths[p], reps);
	run_held(reps);
	return 0;
}
