package counter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrStoreDown matches (errors.Is) every error a Breaker returns because
// the store did not answer: the failures that open it, and every call
// while it is open.
var ErrStoreDown = errors.New("counter store down")

// DownError is a Breaker's error for a store that did not answer.
type DownError struct {
	Store string // the store's name, without credentials
	// Since is when the breaker opened; zero for a failure that has not
	// opened it (yet).
	Since time.Time
	Err   error // the failure that opened the breaker, or this call's
}

func (e *DownError) Error() string {
	name := "counter store"
	if e.Store != "" {
		name += " " + e.Store
	}
	if e.Since.IsZero() {
		return fmt.Sprintf("%s: %v", name, e.Err)
	}
	return fmt.Sprintf("%s: down since %s: %v", name, e.Since.UTC().Format(time.RFC3339Nano), e.Err)
}

func (e *DownError) Unwrap() error { return e.Err }

func (e *DownError) Is(target error) bool { return target == ErrStoreDown }

// A DownReporter says whether its store is down: a *DownError while a
// Breaker is open, nil while the store answers.
type DownReporter interface {
	Down() error
}

// isOutage says whether err means the store did not answer: a whole-store
// error, or one where every key failed on the network (memcached reports
// each key apart). A closed store is not an outage: it was closed on
// purpose.
func isOutage(err error) bool {
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrBatchingClosed) {
		return false
	}
	var ke *KeyErrors
	if !errors.As(err, &ke) {
		return true
	}
	for _, kerr := range ke.Errs {
		if kerr == nil || !isNetwork(kerr) {
			return false
		}
	}
	return true
}

func isNetwork(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}
