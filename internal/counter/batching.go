package counter

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Batching coalesces the Adds of concurrent callers into one Add of the
// store beneath: one pipeline carries the increments of every request that
// arrived while the previous pipeline was in flight. It never waits to fill
// a batch, so a lone request pays one round trip, and under load each round
// trip carries many requests.
type Batching struct {
	inner   Store
	jobs    chan *batchJob
	max     int
	timeout time.Duration

	batches atomic.Uint64
	adds    atomic.Uint64

	stopOnce sync.Once
	stop     chan struct{} // closed by Close: loops finish their batch and exit
	closed   chan struct{} // closed once the loops are gone and the queue drained
	wg       sync.WaitGroup
}

type batchJob struct {
	incs   []Increment
	counts []uint64
	done   chan error
}

// BatchingOptions size a Batching store. The zero value works.
type BatchingOptions struct {
	// Pipelines is how many batches may be in flight at once; 4 when zero.
	Pipelines int
	// MaxIncrements bounds one batch; 512 when zero.
	MaxIncrements int
	// Timeout bounds one batch's round trip; 1s when zero.
	Timeout time.Duration
}

func (o BatchingOptions) withDefaults() BatchingOptions {
	if o.Pipelines <= 0 {
		o.Pipelines = 4
	}
	if o.MaxIncrements <= 0 {
		o.MaxIncrements = 512
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	return o
}

// ErrBatchingClosed is returned by Add after Close.
var ErrBatchingClosed = errors.New("counter store closed")

var jobPool = sync.Pool{New: func() any { return &batchJob{done: make(chan error, 1)} }}

// NewBatching coalesces Adds to inner; Close stops it and closes inner.
func NewBatching(inner Store, o BatchingOptions) *Batching {
	o = o.withDefaults()
	b := &Batching{inner: inner, jobs: make(chan *batchJob, o.MaxIncrements),
		max: o.MaxIncrements, timeout: o.Timeout, stop: make(chan struct{}), closed: make(chan struct{})}
	for range o.Pipelines {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

var _ Store = (*Batching)(nil)

// Add queues incs for the next batch and waits for its result. A caller
// whose ctx ends first still waits for the batch it is in (bounded by the
// batch timeout), since the batch writes its counts.
func (b *Batching) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil {
		return err
	}
	j := jobPool.Get().(*batchJob)
	j.incs, j.counts = incs, counts
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		jobPool.Put(j)
		return ctx.Err()
	case <-b.stop:
		jobPool.Put(j)
		return ErrBatchingClosed
	}
	select {
	case err := <-j.done:
		j.incs, j.counts = nil, nil
		jobPool.Put(j)
		return err
	case <-b.closed:
		// Queued after the loops left: nobody will run it. The job may still
		// get a result from Close's drain, so it does not go back to the pool.
		return ErrBatchingClosed
	}
}

func (b *Batching) loop() {
	defer b.wg.Done()
	var (
		batch  []*batchJob
		incs   []Increment
		counts []uint64
	)
	for {
		select {
		case <-b.stop:
			return
		case j := <-b.jobs:
			batch, incs = append(batch[:0], j), append(incs[:0], j.incs...)
		collect:
			for len(incs) < b.max {
				select {
				case j := <-b.jobs:
					batch, incs = append(batch, j), append(incs, j.incs...)
				default:
					break collect
				}
			}
			counts = slices.Grow(counts[:0], len(incs))[:len(incs)]
			clear(counts)
			ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
			err := b.inner.Add(ctx, incs, counts)
			cancel()
			b.batches.Add(1)
			b.adds.Add(uint64(len(batch)))
			at := 0
			for _, j := range batch {
				// Read before the send: the caller recycles j once it has
				// its result.
				n, jerr := len(j.incs), jobResult(err, at, counts, j)
				j.done <- jerr
				at += n
			}
			clear(incs) // drop the callers' keys
		}
	}
}

// jobResult writes the counts of the job whose increments start at index at
// of a batch that returned err, and returns the job's own error: a batch
// carries many callers' keys, and one key's error fails only the job that
// holds that key.
func jobResult(err error, at int, counts []uint64, j *batchJob) error {
	if err == nil {
		copy(j.counts, counts[at:at+len(j.incs)])
		return nil
	}
	var ke *KeyErrors
	if !errors.As(err, &ke) {
		return err // the whole batch failed
	}
	errs := make([]error, len(j.incs))
	for i := range j.incs {
		if errs[i] = KeyErr(err, at+i); errs[i] == nil {
			j.counts[i] = counts[at+i]
		}
	}
	return keyErrors(errs)
}

// Stats reports how many batches ran and how many Adds they carried.
func (b *Batching) Stats() (batches, adds uint64) { return b.batches.Load(), b.adds.Load() }

// Close stops the batch loops, fails queued Adds, and closes the inner store.
func (b *Batching) Close() error {
	b.stopOnce.Do(func() {
		close(b.stop)
		b.wg.Wait()
		for drained := false; !drained; {
			select {
			case j := <-b.jobs:
				j.done <- ErrBatchingClosed
			default:
				drained = true
			}
		}
		close(b.closed)
	})
	return b.inner.Close()
}
