package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserBudget bounds every browser action: a guard against a hang, not a
// speed assertion.
const browserBudget = 20 * time.Second

// chromiumPath finds a Chromium or Chrome binary; test.sh installs
// Debian's chromium package.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium tab that records the page's console
// errors and uncaught exceptions.
type browser struct {
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// newBrowser starts headless Chromium for t, or skips t when there is none.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no chromium binary found (install Debian's chromium package, as test.sh does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{ctx: ctx}
	// The first Do starts the browser, under no timeout: one would stop
	// the whole browser when it ran out.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting %s: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		for m, err := range messages {
			if err != nil {
				return
			}
			// A response the page handles (the admin API's 400 for a
			// bad policy) is logged by the browser's network source,
			// not by the page: only the page's errors count.
			if m.IsException() || m.Type == chromedp.ConsoleError && m.Source != "network" {
				b.record(m.String())
			}
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-listened
	})
	return b
}

func (b *browser) record(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, msg)
}

// run runs actions within browserBudget; what names the awaited state in
// the failure.
func (b *browser) run(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserBudget)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// text returns the text of the element sel selects.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserBudget)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// noErrors fails t if the page logged an error or threw.
func (b *browser) noErrors(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		t.Fatalf("the page reported errors:\n%s", strings.Join(b.errors, "\n"))
	}
}

// screenshot writes the page as a PNG to the path in
// $FLOODGATE_DASHBOARD_PNG, when set (docs/dashboard.sh sets it).
func (b *browser) screenshot(t *testing.T) {
	t.Helper()
	path := os.Getenv("FLOODGATE_DASHBOARD_PNG")
	if path == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, browserBudget)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(fmt.Errorf("screenshot: %w", err))
	}
}
