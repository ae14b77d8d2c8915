package decisions

import (
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/decisions/enginepb"
)

// errEngineStopping ends the hit streams of a stopping engine; replicas
// take it as any broken stream and move to another engine at once.
var errEngineStopping = status.Error(codes.Unavailable, "engine stopping: use another engine")

// StreamHits ingests a replica's batches, acknowledging each one, until the
// replica ends the stream or EndStreams is called.
func (e *Engine) StreamHits(stream grpc.BidiStreamingServer[enginepb.HitBatch, enginepb.BatchAck]) error {
	e.st.streams.Inc()
	defer e.st.streams.Dec()
	return serveStream(e, stream, func(b *enginepb.HitBatch) *enginepb.BatchAck {
		return &enginepb.BatchAck{Seq: b.GetSeq(), Hits: e.Ingest(b)}
	})
}

// serveStream answers each message of a replica's stream with handle's
// reply, in order, until the replica ends the stream or EndStreams is
// called. Headers go out first: they tell the replica its stream is up
// before any reply.
func serveStream[Req, Resp any](e *Engine, stream grpc.BidiStreamingServer[Req, Resp], handle func(*Req) *Resp) error {
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	// Recv blocks, so it runs on a goroutine of its own and the stream can
	// end on EndStreams; that goroutine returns once the handler has
	// returned, since Recv then fails.
	type received struct {
		msg *Req
		err error
	}
	msgs := make(chan received)
	handlerDone := make(chan struct{})
	defer close(handlerDone)
	go func() {
		for {
			m, err := stream.Recv()
			select {
			case msgs <- received{m, err}:
			case <-handlerDone:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		select {
		case <-e.streamsEnd:
			return errEngineStopping
		case r := <-msgs:
			if errors.Is(r.err, io.EOF) {
				return nil
			}
			if r.err != nil {
				return r.err
			}
			if err := stream.Send(handle(r.msg)); err != nil {
				return err
			}
		}
	}
}

// EndStreams ends every hit stream, now and later, so that a stopping
// engine's server drains at once instead of waiting on streams replicas
// keep open for hours. A batch a replica sent but the engine did not
// acknowledge is counted as dropped by the replica, never counted twice.
func (e *Engine) EndStreams() {
	e.endStreamsOne.Do(func() { close(e.streamsEnd) })
}
