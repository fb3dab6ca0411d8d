# SPDX-License-Identifier: GPL-2.0
# Entry points.  Each step is a script in scripts/; config/splice.conf names
# every path and version they use.

S := scripts

.PHONY: all demo check check-fast check-stock bisect-check fuzz bench shell deps base \
	apply export selftests stock clean distclean help

all: help

help:
	@echo "make demo         build our kernel and boot the splice demo"
	@echo "make check        run every selftest on our kernel, our debug kernel"
	@echo "                  and stock 6.12 (the contract: 0 failed on all three)"
	@echo "                  (the debug kernel runs a named subset: FULL=1 for all)"
	@echo "make check-fast   run every selftest on our kernel only, no KUnit"
	@echo "                  (ONLY=test1,test2 runs just those)"
	@echo "make check-stock  run the same selftests on the stock 6.12 kernel"
	@echo "make bisect-check build every patch of the series in turn (resumable)"
	@echo "make fuzz         trinity and stress-ng on our debug kernel"
	@echo "make bench        benchmark ours against stock 6.12 into bench/"
	@echo "make shell        boot our kernel to a shell on the console"
	@echo "make apply        apply patches/ to build/linux"
	@echo "make export       rewrite patches/ from the commits in build/linux"

deps:
	@$(S)/install-deps

base: deps
	@$(S)/fetch-base

apply: base
	@$(S)/apply-series

export:
	@$(S)/export-series

selftests: apply
	@$(S)/build-selftests

stock: base
	@$(S)/stock-tree

# host-tsc-khz first: a host whose TSC cannot be the guest's clock fails
# before the builds, not after.
demo: selftests
	@$(S)/host-tsc-khz >/dev/null
	@$(S)/build-demo
	@$(S)/build-kernel ours
	@$(S)/mkinitramfs ours
	@$(S)/boot ours demo

# The selftests and the stock tree are made beside the first kernel build.
check: apply
	@$(S)/check --prepare ours ours-debug stock

check-fast: selftests
	@ONLY="$(ONLY)" $(S)/check ours

check-stock: selftests stock
	@$(S)/check stock

bisect-check: selftests
	@$(S)/bisect-check

fuzz: selftests
	@$(S)/fuzz ours-debug

bench: selftests stock
	@$(S)/bench

shell: selftests
	@$(S)/host-tsc-khz >/dev/null
	@$(S)/build-kernel ours
	@$(S)/mkinitramfs ours
	@$(S)/boot ours shell

clean:
	rm -rf build/out build/linux/.obj-* build/stock/.obj-* build/bisect

distclean:
	rm -rf build
