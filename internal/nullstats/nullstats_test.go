package nullstats

import (
	"testing"

	stats "github.com/lyft/gostats"
)

func TestOrKeepsAGivenScope(t *testing.T) {
	given := stats.NewStore(stats.NewNullSink(), false)
	if Or(given) != given {
		t.Error("Or replaced a scope it was given")
	}
	c := Or(nil).NewCounter("hits")
	c.Add(2)
	if c.Value() != 2 {
		t.Errorf("a null scope's counter reads %d after adding 2, want 2", c.Value())
	}
}
