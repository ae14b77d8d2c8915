package counter

import (
	"errors"
	"fmt"
	"math"
)

// KeyErrors is the error of an Add in which only some increments failed:
// the others were counted and their counts written, so one key's error
// (a value of the wrong type, a backend refusal) fails only the callers of
// that key. Errs[i] is the error of incs[i], nil where counts[i] holds its
// count.
type KeyErrors struct {
	Errs []error
}

func (e *KeyErrors) Error() string {
	n, first := 0, error(nil)
	for _, err := range e.Errs {
		if err != nil {
			if n++; first == nil {
				first = err
			}
		}
	}
	return fmt.Sprintf("counter: %d of %d increments failed, first: %v", n, len(e.Errs), first)
}

// Unwrap lets errors.Is and errors.As see every key's error.
func (e *KeyErrors) Unwrap() []error { return e.Errs }

// KeyErr is the error of increment i of an Add that returned err: nil when
// increment i was counted, err itself when the whole Add failed.
func KeyErr(err error, i int) error {
	if err == nil {
		return nil
	}
	var ke *KeyErrors
	if errors.As(err, &ke) && len(ke.Errs) > i {
		return ke.Errs[i]
	}
	return err
}

// keyErrors returns nil when no increment failed, else the KeyErrors of
// errs (which it keeps).
func keyErrors(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return &KeyErrors{Errs: errs}
		}
	}
	return nil
}

// addSaturating adds hits to a count, stopping at the largest uint64: a
// count never goes backwards. (policy.AddHits is the same rule above the
// stores; this package sits below policy.)
func addSaturating(count, hits uint64) uint64 {
	if s := count + hits; s >= count {
		return s
	}
	return math.MaxUint64
}
