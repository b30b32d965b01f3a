package bpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type event -type wagg -type wkey -type kind -type call -type note -type fdtype probes c/probes.c -- -I./c
