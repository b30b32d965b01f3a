// init: pid 1 of a fumehood sandbox container (installed as /sbin/init).
//
// It starts as root with CAP_SETUID, CAP_SETGID and CAP_SETPCAP only (and
// CAP_SYS_RESOURCE, with the oom_score_adj of -1000 the runtime gave it, where
// the host's root has that capability). It forks the phase's command, which
// (in the child, before exec) sets its own oom_score_adj, empties its
// capability bounding set, takes the package's uid and gid and the working
// directory, and execs. Package code
// thus never shares init's uid: it cannot signal, ptrace or open the /proc
// files of init, nor change its OOM score.
//
// init reports the command's exit status (128+n for signal n) as one line of
// decimal digits on its own stderr, a pipe only the host reads; the command's
// stdout and stderr both go to init's stdout. Then init stays, reaping
// orphans, so that what the command left running lives on to be observed,
// until the host kills the container.
//
// Its instructions come in its environment, which nothing but the host and
// init itself can read, and leave it before the command runs:
//   PID1_EXEC  the command's argv as netstrings ("3:npm,7:install,")
//   PID1_USER  "uid:gid" of the command
//   PID1_CWD   the command's working directory
//   PID1_OOM   the command's oom_score_adj
//   PID1_PID   the pid the command gets, when it can (optional)
// so that /proc/1/cmdline reads "/sbin/init", as on any machine.
//
// A fresh pid namespace numbers its processes from 1, and malware reads a
// small pid or ppid as a sandbox. init sets the namespace's last pid
// (advance) so that the command gets PID1_PID and what it starts gets pids
// as on a machine that has been up a while.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CAP_LAST_CAP
#define CAP_LAST_CAP 63
#endif

static void die(const char *what) {
	// stdout is the phase's output; stderr carries only the status.
	dprintf(1, "init: %s: %s\n", what, strerror(errno));
	_exit(1);
}

// take returns the value of environment variable name and removes it.
static char *take(const char *name) {
	char *v = getenv(name);
	if (v == NULL) {
		errno = EINVAL;
		die(name);
	}
	v = strdup(v);
	unsetenv(name);
	return v;
}

// netstrings splits "len:bytes,len:bytes," into a NULL-terminated argv.
static char **netstrings(char *s) {
	size_t n = 0, cap = 8;
	char **argv = malloc(cap * sizeof *argv);
	while (*s) {
		char *end;
		unsigned long len = strtoul(s, &end, 10);
		if (end == s || *end != ':' || strlen(end + 1) < len + 1 || end[1 + len] != ',') {
			errno = EINVAL;
			die("PID1_EXEC");
		}
		end[1 + len] = '\0';
		if (n + 2 > cap)
			argv = realloc(argv, (cap *= 2) * sizeof *argv);
		argv[n++] = end + 1;
		s = end + len + 2;
	}
	if (n == 0) {
		errno = EINVAL;
		die("PID1_EXEC");
	}
	argv[n] = NULL;
	return argv;
}

static void child(char **argv, uid_t uid, gid_t gid, const char *cwd, const char *oom) {
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || write(fd, oom, strlen(oom)) < 0)
		die("oom_score_adj");
	close(fd);
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die("drop capabilities");
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		die("set user");
	if (dup2(1, 2) < 0)
		die("dup stdout");
	if (chdir(cwd) < 0)
		die(cwd);
	execvp(argv[0], argv);
	int code = errno == ENOENT ? 127 : 126;
	dprintf(1, "init: %s: %s\n", argv[0], strerror(errno));
	_exit(code);
}

// advance makes want the next pid of init's namespace: it writes want-1
// to ns_last_pid (CAP_CHECKPOINT_RESTORE over the namespace; the runtime
// leaves /proc/sys/kernel writable for it and for nothing without that
// capability). On failure the command gets the next pid, as a plain fork.
static void advance(const char *want) {
	long pid = strtol(want, NULL, 10);
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	if (pid < 2 || fd < 0)
		return;
	dprintf(fd, "%ld", pid - 1);
	close(fd);
}

int main(void) {
	if (getpid() != 1) {
		fprintf(stderr, "init: must be run as PID 1\n");
		return 1;
	}
	char **argv = netstrings(take("PID1_EXEC"));
	char *user = take("PID1_USER"), *cwd = take("PID1_CWD"), *oom = take("PID1_OOM");
	char *want = getenv("PID1_PID");
	if (want != NULL) {
		want = strdup(want);
		unsetenv("PID1_PID");
	}
	unsigned long uid, gid;
	if (sscanf(user, "%lu:%lu", &uid, &gid) != 2 || uid == 0 || gid == 0) {
		errno = EINVAL;
		die("PID1_USER");
	}
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (want != NULL)
		advance(want);
	pid_t cmd = fork();
	if (cmd < 0)
		die("fork");
	if (cmd == 0) {
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		child(argv, (uid_t)uid, (gid_t)gid, cwd, oom);
	}
	for (;;) {
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid != cmd)
				continue;
			int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			dprintf(2, "%d\n", code);
			close(2);
		}
		sigwaitinfo(&chld, NULL);
	}
}
