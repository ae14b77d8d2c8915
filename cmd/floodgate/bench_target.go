package main

import (
	"context"
	"fmt"
	"net"
	"time"
)

// startInProcess runs `floodgate serve` in this process on a loopback
// port, with the same wiring as the real command, for bench to load. mode
// is async, async-report or exact.
func startInProcess(ctx context.Context, mode string, configs []string, redisURL string) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = l.Addr().String()
	l.Close()
	args := []string{"--mode", mode, "--grpc-addr", addr, "--http-addr", "", "--log-level", "warn"}
	if mode == "async-report" {
		args[1] = "async"
		args = append(args, "--async-mode", "report")
	}
	if redisURL != "" {
		args = append(args, "--redis", redisURL)
	}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, args) }()
	stop = func() {
		cancel()
		<-done
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			cancel()
			return "", nil, fmt.Errorf("in-process floodgate: %w", err)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("in-process floodgate did not listen on %s", addr)
}
