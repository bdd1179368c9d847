package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// uiBrowser is one headless Chromium tab, shared by every page of a test so
// the browser starts once. Page scripts are disabled: every page and form
// must work without JavaScript, and a page that needed it would fail here.
type uiBrowser struct {
	ctx context.Context
}

// uiChromium finds the browser: $FERRY_CHROMIUM, else the first of the usual
// names on PATH (Debian's package installs /usr/bin/chromium).
func uiChromium() string {
	if p := os.Getenv("FERRY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newUIBrowser starts Chromium with the flags this machine needs (no
// sandbox as root, no background networking, which the closed network
// refuses) and a fresh profile. Without a browser the test is skipped,
// except in CI, where .ci/run installs one and its absence is a failure.
func newUIBrowser(t *testing.T) *uiBrowser {
	t.Helper()
	path := uiChromium()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found, and CI must run the browser tests: .ci/run installs Debian's chromium package")
		}
		t.Skip("no Chromium found (apt-get install chromium, or set FERRY_CHROMIUM): skipping the browser tests, which CI runs")
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	// Bounds the whole browser session, whatever goes wrong.
	ctx, cancelAll := context.WithTimeout(tabCtx, 3*time.Minute)
	t.Cleanup(func() { cancelAll(); cancelTab(); cancelAlloc() })
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err, "start Chromium at %s", path)
	return &uiBrowser{ctx: ctx}
}

// step bounds one browser action, so a selector that never matches fails
// the test with a message instead of hanging it.
func (b *uiBrowser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 10*time.Second)
}

// open loads a page and checks that it answered 200 and carries no script.
func (b *uiBrowser) open(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	require.NoError(t, err, "open %s", url)
	require.EqualValues(t, 200, resp.Status, "status of %s", url)
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, "<script", "%s must work without JavaScript", url)
}

// text is what a person reads in the first element matching css: its
// rendered text, with CSS text transforms applied.
func (b *uiBrowser) text(t *testing.T, css string) string {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	require.NoError(t, err, "read %q", css)
	return s
}

// present reports whether an element matches css, without waiting for one.
func (b *uiBrowser) present(t *testing.T, css string) bool {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(css), chromedp.AtLeast(0)))
	require.NoError(t, err, "query %q", css)
	return len(nodes) > 0
}

// waitText reloads url until an element matches css and its text
// satisfies ok, at most 150 times over at most 20 seconds, and returns that
// text.
func (b *uiBrowser) waitText(t *testing.T, url, css string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := "(no element matched)"
	for i := 0; i < 150 && time.Now().Before(deadline); i++ {
		b.open(t, url)
		if b.present(t, css) {
			last = b.text(t, css)
			if ok(last) {
				return last
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.FailNow(t, "page never showed what was expected", "%s %q last showed:\n%s", url, css, last)
	return ""
}

// submit fills a form's fields (text inputs are typed, selects are set),
// submits it with its button and waits for the new page.
func (b *uiBrowser) submit(t *testing.T, form string, fields map[string]string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	for name, v := range fields {
		sel := form + ` [name="` + name + `"]`
		tag, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(sel)))
		require.NoError(t, err, "find %s", sel)
		if strings.EqualFold(tag[0].NodeName, "select") {
			require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), v)))
			continue
		}
		require.NoError(t, chromedp.Do(ctx, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), v)))
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	require.NoError(t, err, "submit %s", form)
	require.EqualValues(t, 200, resp.Status)
}

// location is the address of the page shown.
func (b *uiBrowser) location(t *testing.T) string {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return loc
}

// screenshot writes the whole page to testout/screenshots/<name>.png at the
// module's root, where a person can look at it after the run.
func (b *uiBrowser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 = PNG
	require.NoError(t, err)
	dir := filepath.Join(uiModuleRoot(t), "testout", "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

func uiModuleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}
