package load

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/envoywire"
)

// HostileCase is one shape of request that a broken or hostile client, or
// an Envoy relaying hostile headers, sends an RLS.
type HostileCase struct {
	Name string
	Body []byte // the request as it goes on the wire
}

// HostileCases derives the cases from one descriptor a policy limits
// (domain, entries): its value with bytes that are not UTF-8 must still be
// limited, the others must be answered without harm.
func HostileCases(domain string, entries []*commonrl.RateLimitDescriptor_Entry) []HostileCase {
	with := func(f func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest) []byte {
		d := &commonrl.RateLimitDescriptor{}
		for _, e := range entries {
			d.Entries = append(d.Entries, &commonrl.RateLimitDescriptor_Entry{Key: e.Key, Value: e.Value})
		}
		return envoywire.AppendRequest(nil, f(d))
	}
	last := func(d *commonrl.RateLimitDescriptor) *commonrl.RateLimitDescriptor_Entry {
		return d.Entries[len(d.Entries)-1]
	}
	req := func(d ...*commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
		return &rlsv3.RateLimitRequest{Domain: domain, Descriptors: d}
	}
	return []HostileCase{
		{"value not UTF-8 (limited key)", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			last(d).Value += "\xff\xfe"
			return req(d)
		})},
		{"NUL bytes in value", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			last(d).Value += "\x00nul\x00"
			return req(d)
		})},
		{"hits_addend 2^32-1", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			r := req(d)
			r.HitsAddend = math.MaxUint32
			return r
		})},
		{"10 000 descriptors", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			r := req()
			for i := range 10_000 {
				c := &commonrl.RateLimitDescriptor{}
				for _, e := range d.Entries {
					c.Entries = append(c.Entries, &commonrl.RateLimitDescriptor_Entry{Key: e.Key, Value: e.Value + strconv.Itoa(i)})
				}
				r.Descriptors = append(r.Descriptors, c)
			}
			return r
		})},
		{"5 000 entries", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			for i := range 5_000 {
				d.Entries = append(d.Entries, &commonrl.RateLimitDescriptor_Entry{Key: "k" + strconv.Itoa(i), Value: "v"})
			}
			return req(d)
		})},
		{"1 MiB value", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			last(d).Value = strings.Repeat("v", 1<<20)
			return req(d)
		})},
		{"1 MiB domain", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			r := req(d)
			r.Domain = strings.Repeat("d", 1<<20)
			return r
		})},
		{"not protobuf", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'}},
		// Last: it crashes envoyproxy/ratelimit, which then fails every case
		// after it.
		{"override with unknown unit", with(func(d *commonrl.RateLimitDescriptor) *rlsv3.RateLimitRequest {
			d.Limit = &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 1, Unit: typev3.RateLimitUnit(42)}
			return req(d)
		})},
	}
}

// HostileRow is what one case met.
type HostileRow struct {
	Case                      string
	Sent, OK, Over            int
	Refused, Failed, TimedOut int    // InvalidArgument; other errors; deadline exceeded
	FirstError                string // the first failure's status, for the reader
	AliveAfter                bool   // a plain request was answered after the case
}

// Hostile sends every case n times, one call at a time with a deadline,
// to the RLS at addr, and after each case one plain request (plain) to
// see that the server still answers.
func Hostile(ctx context.Context, addr string, cases []HostileCase, plain []byte, n int, deadline time.Duration) ([]HostileRow, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(envoywire.Codec{}), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	call := func(body []byte) (*rlsv3.RateLimitResponse, error) {
		cctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		var resp rlsv3.RateLimitResponse
		err := cc.Invoke(cctx, "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit", body, &resp)
		return &resp, err
	}
	var rows []HostileRow
	for _, c := range cases {
		row := HostileRow{Case: c.Name}
		for range n {
			if ctx.Err() != nil {
				return rows, ctx.Err()
			}
			row.Sent++
			resp, err := call(c.Body)
			switch code := status.Code(err); {
			case err == nil && resp.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT:
				row.Over++
			case err == nil:
				row.OK++
			case code == codes.InvalidArgument:
				row.Refused++
			case code == codes.DeadlineExceeded:
				row.TimedOut++
			default:
				row.Failed++
			}
			if err != nil && row.FirstError == "" {
				row.FirstError = shortStatus(err)
			}
		}
		_, err := call(plain)
		row.AliveAfter = err == nil
		rows = append(rows, row)
	}
	return rows, nil
}

func shortStatus(err error) string {
	s := status.Convert(err)
	msg := s.Message()
	if len(msg) > 60 {
		msg = msg[:60] + "…"
	}
	return s.Code().String() + ": " + msg
}

// PrintHostile writes the rows as a table.
func PrintHostile(w io.Writer, rows []HostileRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tsent\tOK\tOVER_LIMIT\trefused (InvalidArgument)\tfailed\ttimed out\tserver answers after\tfirst error")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t%s\n", r.Case, r.Sent, r.OK, r.Over, r.Refused, r.Failed, r.TimedOut, r.AliveAfter, r.FirstError)
	}
	return tw.Flush()
}
