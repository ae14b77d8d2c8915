package rlqs_test

import (
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestMain(m *testing.M) { testkit.RunQuiet(m) }
