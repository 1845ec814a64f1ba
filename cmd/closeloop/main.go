// Command closeloop is the operators' tool: it runs Closeloop locally
// (dev), shows the whole loop end to end (demo), replays sample events
// through one function's handler (invoke), and manages operators and
// erasure through the API of a local or deployed stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `closeloop: close the customer feedback loop.

Usage:
  closeloop dev [--addr 127.0.0.1:8787] [--tick 2s]   run the local stack until interrupted
  closeloop demo [--stay]                             run the whole loop locally and print each step
  closeloop invoke FUNCTION EVENT.json                run one function's handler on a sample event
  closeloop operators add EMAIL --role ROLE           add an operator (viewer, editor or admin), or change a role
  closeloop operators list | remove EMAIL             list or remove operators
  closeloop erase EMAIL                               erase everything Closeloop holds about one person
  closeloop dlq list|replay QUEUE                     list or replay a queue's dead letters (closing, ses-events)
  closeloop import delighted DIR | --api-key KEY     bring in Delighted's history: responses, unsubscribes, bounces
  closeloop import csv FILE                           bring in past answers from a CSV (README: the columns)
  closeloop migrate contact-ids                       move contacts of older releases to keyed ids (docs/privacy.md)
  closeloop report [--from D] [--to D] [--by day|week|month] [--json|--csv]
                  [--source S|--agent A|--kind K|--theme T] [--breakdown source|agent|kind|theme]
                                                      the metrics of a range, with a series and a breakdown

Commands that read or change data take --api URL and --token TOKEN
(defaults: CLOSELOOP_API_URL, CLOSELOOP_TOKEN), against closeloop dev or a
deployed stack alike.

Functions: webhook, survey-sweep, response, api, closing, ses-events, digest.
Configuration comes from CLOSELOOP_* environment variables (see README.md).
Exit status: 0 done, 1 failed, 2 a command line closeloop does not understand.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "closeloop:", err)
	}
	os.Exit(exitCode(err))
}

// usageError is a command line closeloop does not understand; its text
// says how to call the command.
type usageError string

func (e usageError) Error() string { return string(e) }

// exitCode is 0 for success and help, 2 for a command line closeloop does
// not understand, and 1 for a failure of what it was asked to do.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// parseFlags parses args into fs; a flag fs does not know, or a bad value,
// is a usage error (flag has printed what is wrong and the flags).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError(err.Error())
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given")
	}
	switch args[0] {
	case "dev":
		return dev(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], getenv, stdout, stderr)
	case "invoke":
		return invoke(ctx, args[1:], getenv, stdout, stderr)
	case "operators":
		return operators(ctx, args[1:], getenv, stdout, stderr)
	case "erase":
		return erase(ctx, args[1:], getenv, stdout, stderr)
	case "dlq":
		return dlq(ctx, args[1:], getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "report":
		return report(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError(fmt.Sprintf("unknown command %q", args[0]))
}
