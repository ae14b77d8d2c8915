package main

import (
	"context"
	"errors"
)

func runRLS(ctx context.Context, args []string) error          { return errors.New("not built yet") }
func runEngine(ctx context.Context, args []string) error       { return errors.New("not built yet") }
