package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
)

// runClient sends one ShouldRateLimit, as Envoy's filter would, and prints
// the answer.
func runClient(ctx context.Context, args []string) error {
	return clientTo(ctx, args, os.Stdout)
}

func clientTo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "gRPC `address` of the rate-limit service")
	domain := fs.String("domain", "", "rate-limit domain")
	var descriptors listFlag
	fs.Func("descriptor", "a descriptor as `k=v,k2=v2` (repeatable; one flag per descriptor)", func(s string) error {
		descriptors = append(descriptors, s)
		return nil
	})
	hits := fs.Uint("hits", 0, "hits_addend of the request (0: one hit)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	failOver := fs.Bool("fail-over-limit", false, "exit 3 when the answer is OVER_LIMIT (1 is an error, 2 bad flags)")
	var dial dialFlags
	dial.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	req := &rlsv3.RateLimitRequest{Domain: *domain, HitsAddend: uint32(*hits)}
	for _, d := range descriptors {
		desc, err := parseDescriptor(d)
		if err != nil {
			return err
		}
		req.Descriptors = append(req.Descriptors, desc)
	}
	transport, err := dial.option()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(*addr, transport)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	resp, err := rlsv3.NewRateLimitServiceClient(conn).ShouldRateLimit(ctx, req)
	if err != nil {
		return err
	}
	printResponse(out, req, resp)
	if *failOver && resp.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT {
		return errOverLimit
	}
	return nil
}

// parseDescriptor reads "k=v,k2=v2"; a value may be empty ("k=").
func parseDescriptor(s string) (*ratelimitv3.RateLimitDescriptor, error) {
	d := &ratelimitv3.RateLimitDescriptor{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--descriptor %q: entry %q is not key=value", s, kv)
		}
		d.Entries = append(d.Entries, &ratelimitv3.RateLimitDescriptor_Entry{Key: k, Value: v})
	}
	return d, nil
}

func printResponse(w io.Writer, req *rlsv3.RateLimitRequest, resp *rlsv3.RateLimitResponse) {
	fmt.Fprintf(w, "overall: %s\n", resp.GetOverallCode())
	for i, st := range resp.GetStatuses() {
		var entries []string
		if i < len(req.Descriptors) {
			for _, e := range req.Descriptors[i].Entries {
				entries = append(entries, e.Key+"="+e.Value)
			}
		}
		fmt.Fprintf(w, "  [%d] %s: %s", i, strings.Join(entries, ","), st.GetCode())
		if l := st.GetCurrentLimit(); l != nil {
			fmt.Fprintf(w, "  limit %d/%s", l.GetRequestsPerUnit(), l.GetUnit())
			if l.GetName() != "" {
				fmt.Fprintf(w, " (%s)", l.GetName())
			}
			fmt.Fprintf(w, "  remaining %d", st.GetLimitRemaining())
			if r := st.GetDurationUntilReset(); r != nil {
				fmt.Fprintf(w, "  reset in %s", r.AsDuration().Round(time.Millisecond))
			}
		} else if st.GetLimitRemaining() != 0 {
			fmt.Fprintf(w, "  unlimited")
		} else {
			fmt.Fprintf(w, "  no limit")
		}
		fmt.Fprintln(w)
	}
	for _, h := range resp.GetResponseHeadersToAdd() {
		fmt.Fprintf(w, "  header %s: %s\n", h.GetKey(), h.GetValue())
	}
	if md := resp.GetDynamicMetadata(); md != nil {
		fmt.Fprintf(w, "  dynamic_metadata: %v\n", md.AsMap())
	}
}
