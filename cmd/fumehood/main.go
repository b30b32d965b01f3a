// Command fumehood detonates open-source packages in a sandbox, records what
// they do with eBPF, and judges the trace. This package only wires the
// others together; see README.md for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes above the verdict codes (0 benign, 1 suspicious, 2 malicious).
const (
	exitBadInput = 3 // the user's input is wrong: spec, artifact, flags
	exitInfra    = 4 // the machine is not ready: containerd, image, BPF, ...
)

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

type command struct {
	name, summary string
	run           func(ctx context.Context, env *env, args []string) (int, error)
}

func commands() []command {
	return []command{
		{"analyze", "detonate one package and print its verdict", cmdAnalyze},
		{"image", "build or import the sandbox image; write the app image", cmdImage},
		{"rules", "list or test the detection rules", cmdRules},
		{"eval", "analyse a labelled corpus and print a confusion matrix", cmdEval},
		{"serve", "run a farm: HTTP API, scheduler and a worker pool (and the npm firewall)", cmdServe},
		{"proxy", "run the npm registry firewall against a farm's Redis and store", cmdProxy},
		{"worker", "run a farm worker that takes analyses from Redis", cmdWorker},
		{"submit", "submit a spec, artifact or lockfile to a farm", cmdSubmit},
		{"status", "print an analysis of a farm", cmdStatus},
		{"rejudge", "re-judge stored analyses of a farm with its current rules", cmdRejudge},
		{"diff", "compare the behaviour of two analyses or two versions of a package", cmdDiff},
		{"report", "print an analysis of a farm as an OSV record", cmdReport},
		{"token", "create an API token of a farm", cmdToken},
	}
}

// env is what a command reads and writes besides its arguments.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// main runs a command. The first SIGINT or SIGTERM cancels its context:
// whatever stage it is in (fetch, a phase, judging) ends, the command
// cleans up on detached contexts (containers, workspace, network, work
// directory) and exits 4. A second signal ends the process at once; what
// that leaves behind, the next start reaps.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // from now on a signal has its default effect
	}()
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	level := slog.LevelWarn
	if os.Getenv("FUMEHOOD_DEBUG") != "" {
		level = slog.LevelDebug
	}
	e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(e.log) // packages that log without a logger of their own follow the CLI's level
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitBadInput
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		code, err := c.run(ctx, e, args[1:])
		if errors.Is(err, flag.ErrHelp) {
			return 0 // the flag set printed the usage asked for
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "fumehood %s: %s\n", c.name, printable(err.Error()))
			return errorCode(err)
		}
		return code
	}
	fmt.Fprintf(e.stderr, "fumehood: unknown command %q\n", args[0])
	usage(e.stderr)
	return exitBadInput
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fumehood COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'fumehood COMMAND -h' for a command's flags.")
}

// newFlags returns the flag set of a command, printing on e.stderr.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args: -h gives flag.ErrHelp, a mistake a usageError.
// Flags may follow arguments ("submit npm:a@1 --wait"); "--" ends the
// flags, and what follows it is arguments however it looks.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// errorCode maps an error to an exit code: bad input 3, everything else 4.
func errorCode(err error) int {
	var (
		u  usageError
		ae *apiError
	)
	if errors.As(err, &u) || isBadInput(err) || errors.As(err, &ae) && ae.status < 500 {
		return exitBadInput
	}
	return exitInfra
}
