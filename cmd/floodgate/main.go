// Command floodgate is Floodgate's one binary: the rate-limit service, the
// throttle engine, the xDS control plane and their tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/floodgate/floodgate/internal/redisconn"
)

const usage = `usage: floodgate [command] [flags]

Commands:
  serve          run the RLS and, in async mode, its throttle engine in one process (the default)
  rls            run an RLS replica that reports hits to throttle engines
  engine         run a throttle engine
  control-plane  run the xDS control plane and its admin API
  check-config   validate policy files and directories
  client         send one ShouldRateLimit request and print the answer
  bench          load-test an RLS and compare it with a constant-OK baseline
  version        print the version and revision (also --version)

With no command, floodgate serves the example policies built into the binary, or,
when envoyproxy/ratelimit's variables (RUNTIME_ROOT, REDIS_URL, ...) are set, what
they say, as envoyproxy/ratelimit would (serve --ratelimit-env).
Every flag also reads from FLOODGATE_<FLAG> (for --grpc-addr: FLOODGATE_GRPC_ADDR),
which wins over envoyproxy/ratelimit's variables.
Run 'floodgate COMMAND -h' for a command's flags.
`

type command func(ctx context.Context, args []string) error

func commands() map[string]command {
	return map[string]command{
		"serve":         runServe,
		"rls":           runRLS,
		"engine":        runEngine,
		"control-plane": runControlPlane,
		"check-config":  runCheckConfig,
		"client":        runClient,
		"bench":         runBench,
		"version":       runVersion,
	}
}

func main() {
	redisconn.LogToSlog() // go-redis's lines follow --log-format too
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	name, rest := "serve", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, rest = args[0], args[1:]
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		name, rest = "version", nil
	}
	if name == "help" {
		fmt.Print(usage)
		return 0
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "floodgate: unknown command %q\n\n%s", name, usage)
		return 2
	}
	var stopped func(error)
	if servingRoles[name] {
		stopped = logStop(ctx, name)
	}
	err := cmd(ctx, rest)
	if stopped != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
		stopped(err)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errOverLimit):
		return exitOverLimit
	}
	fmt.Fprintf(os.Stderr, "floodgate %s: %v\n", name, err)
	return 1
}
