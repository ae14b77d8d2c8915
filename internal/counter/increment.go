package counter

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Add on a store that has been closed.
var ErrClosed = errors.New("counter: store closed")

// checkAdd rejects calls every store would get wrong: a counts slice of
// another length, or a counter that would never expire and so never be freed.
func checkAdd(incs []Increment, counts []uint64) error {
	if len(counts) != len(incs) {
		return fmt.Errorf("counter: %d increments but %d counts", len(incs), len(counts))
	}
	for _, inc := range incs {
		if inc.Expiry <= 0 {
			return fmt.Errorf("counter %q: expiry %v, must be positive", inc.Key, inc.Expiry)
		}
	}
	return nil
}
