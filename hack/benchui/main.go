// Command benchui measures soll's web UI in Chromium at scale, against a
// plain API client in the same run, and prints a table. `make bench-ui`
// runs it.
//
// It starts a private local cluster, creates N Applications (10,000 by
// default) with varied statuses straight in the cluster (no controller
// runs: the UI only reads them) and one app with 1,000 resources in its
// status, and runs `soll server` from the same tree. Then:
//
//   - the applications page (first page, table), the page of the app with
//     1,000 resources: time to first byte and to first contentful paint
//     from the Navigation and Paint Timing APIs, median of -runs loads;
//     the baseline is the API call that page rests on, made by a plain Go
//     client (GET /api/v1/applications?limit=100, GET
//     /api/v1/applications/{name});
//   - a status change: the time from the status write in the cluster to
//     the change on the open applications page (a MutationObserver stamps
//     it), median of -runs changes; the baseline is the same change seen
//     by a plain client of the API's event stream.
//
// Everything started is stopped on exit, Ctrl-C included.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/devenv"
	"soll.dev/localcluster"
)

const (
	sollNamespace = "soll"
	bigApp        = "big-app"
	// initialAdminSecret holds the admin's first password (see
	// internal/auth).
	initialAdminSecret = "soll-initial-admin-secret"
)

type config struct {
	apps, resources, runs int
	sollBin, clusterDir   string
	keep                  bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.apps, "apps", 10000, "number of Applications")
	flag.IntVar(&cfg.resources, "resources", 1000, "resources in the status of the one big app")
	flag.IntVar(&cfg.runs, "runs", 5, "page loads and status changes measured (the table shows their median)")
	flag.StringVar(&cfg.sollBin, "soll-bin", "", "a prebuilt soll binary (default: build ./cmd/soll)")
	flag.StringVar(&cfg.clusterDir, "cluster-dir", "", "directory for the local cluster (default: a temporary directory)")
	flag.BoolVar(&cfg.keep, "keep", false, "leave the cluster running and keep the work directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "\nbench-ui failed:", err)
		os.Exit(1)
	}
}

// bench holds what a run started; cleanups stop it, newest first.
type bench struct {
	cfg      config
	work     string
	c        client.Client
	base     string
	token    string
	cleanups []func()
}

func (b *bench) onClose(f func()) { b.cleanups = append(b.cleanups, f) }

func step(format string, args ...any) {
	fmt.Printf("==> %s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, cfg config) (err error) {
	if cfg.apps < 100 || cfg.runs < 1 || cfg.resources < 1 {
		return errors.New("-apps must be at least 100 (a page), -runs and -resources at least 1")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		return errors.New("chromium is not installed (Debian: apt-get install chromium)")
	}
	work, err := os.MkdirTemp("", "soll-bench-ui-")
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, work: work}
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			b.cleanups[i]()
		}
		if cfg.keep || (err != nil && ctx.Err() == nil) {
			fmt.Println("work directory kept:", work)
			return
		}
		_ = os.RemoveAll(work)
	}()
	if err := b.prepare(ctx); err != nil {
		return err
	}
	rows, err := b.measure(ctx, chromium)
	if err != nil {
		return err
	}
	return printTable(os.Stdout, cfg, rows)
}

func (b *bench) prepare(ctx context.Context) error {
	bin := b.cfg.sollBin
	if bin == "" {
		bin = filepath.Join(b.work, "soll")
		step("building soll into %s", bin)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/soll").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/soll: %w\n%s", err, out)
		}
	}
	dir := b.cfg.clusterDir
	if dir == "" {
		dir = filepath.Join(b.work, "cluster")
	}
	step("starting a local cluster in %s", dir)
	logf, err := os.Create(filepath.Join(b.work, "cluster-up.log"))
	if err != nil {
		return err
	}
	cl, err := localcluster.Up(ctx, localcluster.Options{Dir: dir, Nodes: 1, Log: logf})
	_ = logf.Close()
	if err != nil {
		return fmt.Errorf("start local cluster: %w (log: %s)", err, logf.Name())
	}
	b.onClose(func() {
		if b.cfg.keep {
			fmt.Printf("cluster left running: KUBECONFIG=%s\n", cl.Kubeconfig)
			return
		}
		if err := cl.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop cluster:", err)
		}
	})
	rc, err := clientcmd.BuildConfigFromFlags("", cl.Kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = -1, 0
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	for _, add := range []func(*runtime.Scheme) error{sollv1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	if b.c, err = client.New(rc, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if err := devenv.InstallCRDs(ctx, b.c); err != nil {
		return err
	}
	if err := b.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sollNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	step("creating %d Applications with their statuses, and %s with %d resources", b.cfg.apps, bigApp, b.cfg.resources)
	start := time.Now()
	if err := b.createApps(ctx); err != nil {
		return err
	}
	fmt.Printf("    created in %s\n", time.Since(start).Round(time.Millisecond))
	return b.startServer(ctx, bin, cl.Kubeconfig)
}

// appName is the name of app i; they sort as numbered.
func appName(i int) string { return fmt.Sprintf("app-%05d", i) }

var (
	syncs  = []sollv1.SyncStatusCode{sollv1.SyncStatusSynced, sollv1.SyncStatusSynced, sollv1.SyncStatusOutOfSync, sollv1.SyncStatusUnknown}
	health = []sollv1.HealthStatusCode{sollv1.HealthHealthy, sollv1.HealthHealthy, sollv1.HealthProgressing, sollv1.HealthDegraded, sollv1.HealthMissing}
)

func newApp(name string, i int) *sollv1.Application {
	a := &sollv1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: sollNamespace, Labels: map[string]string{"team": "t" + strconv.Itoa(i%20)}}}
	a.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: "apps/" + name, TargetRevision: "main"}
	a.Spec.Destination = sollv1.ApplicationDestination{Server: sollv1.InClusterServer, Namespace: "apps"}
	return a
}

func statusOf(i int) sollv1.ApplicationStatus {
	rev := fmt.Sprintf("%040x", i)
	return sollv1.ApplicationStatus{
		Sync:   &sollv1.SyncStatus{Status: syncs[i%len(syncs)], Revision: rev},
		Health: &sollv1.HealthStatus{Status: health[i%len(health)]},
		Resources: []sollv1.ResourceStatus{
			{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "cm-" + strconv.Itoa(i), Status: sollv1.SyncStatusSynced},
			{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "web-" + strconv.Itoa(i), Status: syncs[i%len(syncs)],
				Health: &sollv1.HealthStatus{Status: health[i%len(health)]}},
		},
	}
}

// createApps creates the apps and writes their statuses, 32 at a time.
func (b *bench) createApps(ctx context.Context) error {
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name, st := appName(i), statusOf(i)
				if i == b.cfg.apps {
					name, st = bigApp, bigStatus(b.cfg.resources)
				}
				a := newApp(name, i)
				err := b.c.Create(ctx, a)
				if err == nil {
					a.Status = st
					err = b.c.Status().Update(ctx, a)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("create application %s: %w", name, err):
					default:
					}
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i <= b.cfg.apps; i++ {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// bigStatus is the status of an app with n resources: Deployments with a
// ReplicaSet's worth of Pods, Services, ConfigMaps.
func bigStatus(n int) sollv1.ApplicationStatus {
	st := sollv1.ApplicationStatus{Sync: &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync, Revision: strings.Repeat("b", 40)},
		Health: &sollv1.HealthStatus{Status: sollv1.HealthProgressing, Message: "1 of 250 Deployments is progressing"}}
	kinds := []struct{ group, kind string }{{"apps", "Deployment"}, {"", "Service"}, {"", "ConfigMap"}, {"", "ServiceAccount"}}
	for i := range n {
		k := kinds[i%len(kinds)]
		r := sollv1.ResourceStatus{Group: k.group, Version: "v1", Kind: k.kind, Namespace: "big", Name: fmt.Sprintf("%s-%04d", strings.ToLower(k.kind), i),
			Status: sollv1.SyncStatusSynced, Health: &sollv1.HealthStatus{Status: sollv1.HealthHealthy}}
		if i%97 == 0 {
			r.Status = sollv1.SyncStatusOutOfSync
		}
		st.Resources = append(st.Resources, r)
	}
	return st
}

// startServer runs `soll server` (API and UI, no controller) and logs in
// as the admin.
func (b *bench) startServer(ctx context.Context, bin, kubeconfig string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	_ = l.Close()
	logPath := filepath.Join(b.work, "soll-server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	step("starting soll server on %s (log: %s)", addr, logPath)
	cmd := exec.Command(bin, "server", "--kubeconfig", kubeconfig, "--namespace", sollNamespace, "--listen", addr,
		"--insecure-cookies", "--cache-dir", filepath.Join(b.work, "cache"), "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.onClose(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logFile.Close()
	})
	b.base = "http://" + addr
	err = poll(ctx, 2*time.Minute, func() (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("soll server exited (log: %s)", logPath)
		default:
		}
		password, err := b.adminPassword(ctx)
		if err != nil {
			return false, nil
		}
		resp, err := http.Post(b.base+"/api/v1/session", "application/json", strings.NewReader(`{"username":"admin","password":`+strconv.Quote(password)+`}`))
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var out struct{ Token string }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
			return false, nil
		}
		b.token = out.Token
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("soll server not ready: %w", err)
	}
	// Ready when the server's cache has every app.
	return poll(ctx, 2*time.Minute, func() (bool, error) {
		var l struct{ Total int }
		if _, err := b.api(ctx, "/api/v1/applications?limit=1", &l); err != nil {
			return false, nil
		}
		return l.Total == b.cfg.apps+1, nil
	})
}

// api GETs path with the admin's token and decodes the answer into out
// (when not nil); it returns the time to the whole answer.
func (b *bench) api(ctx context.Context, path string, out any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if out != nil {
		return took, json.Unmarshal(body, out)
	}
	return took, nil
}

func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// row is one line of the table: soll's UI and the API baseline.
type row struct {
	what, metric string
	ui, base     time.Duration
	target       time.Duration
}

func (b *bench) measure(ctx context.Context, chromium string) ([]row, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(b.work, "chromium")), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	cctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	step("logging in with Chromium")
	password, err := b.adminPassword(ctx)
	if err != nil {
		return nil, err
	}
	err = chromedp.Do(cctx, chromedp.Navigate(b.base+"/login"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-app]`)))
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	var rows []row
	type page struct {
		what, path, api string
		ttfb, paint     time.Duration
	}
	for _, p := range []page{
		{what: fmt.Sprintf("applications, first page of %d", b.cfg.apps+1), path: "/applications", api: "/api/v1/applications?limit=100", ttfb: 200 * time.Millisecond, paint: time.Second},
		{what: fmt.Sprintf("application with %d resources", b.cfg.resources), path: "/applications/" + bigApp, api: "/api/v1/applications/" + bigApp, ttfb: time.Second, paint: time.Second},
	} {
		step("loading %s %d times", p.path, b.cfg.runs)
		var ttfb, fcp, base []time.Duration
		for range b.cfg.runs {
			t, f, err := load(cctx, b.base+p.path)
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", p.path, err)
			}
			ttfb, fcp = append(ttfb, t), append(fcp, f)
			d, err := b.api(ctx, p.api, nil)
			if err != nil {
				return nil, err
			}
			base = append(base, d)
		}
		rows = append(rows, row{p.what, "time to first byte", median(ttfb), median(base), p.ttfb},
			row{p.what, "first contentful paint", median(fcp), median(base), p.paint})
	}
	step("changing a shown app's status %d times", b.cfg.runs)
	ui, base, err := b.statusChanges(ctx, cctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{"status change in the cluster", "visible on the open page", ui, base, time.Second})
	return rows, nil
}

func (b *bench) adminPassword(ctx context.Context) (string, error) {
	var s corev1.Secret
	if err := b.c.Get(ctx, client.ObjectKey{Namespace: sollNamespace, Name: initialAdminSecret}, &s); err != nil {
		return "", err
	}
	return string(s.Data["password"]), nil
}

// load navigates to url and reads the Navigation and Paint Timing of the
// load: time to first byte (from the request's start) and first
// contentful paint (from the navigation's start).
func load(ctx context.Context, url string) (ttfb, fcp time.Duration, err error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, 0, err
	}
	const timing = `new Promise(function (done) {
	  function read() {
	    var nav = performance.getEntriesByType('navigation')[0];
	    var paint = performance.getEntriesByName('first-contentful-paint')[0];
	    if (nav && nav.responseStart > 0 && paint) { done([nav.responseStart - nav.requestStart, paint.startTime]); return; }
	    setTimeout(read, 20);
	  }
	  read();
	})`
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[[]float64](timing, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil || len(v) != 2 {
		return 0, 0, fmt.Errorf("read the page's timing: %v", err)
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	return ms(v[0]), ms(v[1]), nil
}

// statusChanges flips the sync status of apps shown on the open
// applications page and measures, for each, the time from the write to
// the change on the page and to the event of a plain stream client.
func (b *bench) statusChanges(ctx, cctx context.Context) (ui, base time.Duration, err error) {
	if err := chromedp.Do(cctx, chromedp.Navigate(b.base+"/applications"), chromedp.WaitVisible(chromedp.CSS(`tr[data-app]`))); err != nil {
		return 0, 0, err
	}
	wait, err := chromedp.Run(cctx, chromedp.Poll[bool](`document.body.getAttribute('data-live') === 'on'`, chromedp.WithPollingTimeout(time.Minute)))
	if err != nil || !wait {
		return 0, 0, fmt.Errorf("the page's event stream did not open: %v", err)
	}
	// On the first page, sorted by name.
	names := make([]string, b.cfg.runs)
	for i := range names {
		names[i] = appName(i * 3)
	}
	events, stopStream, err := b.stream(ctx, names)
	if err != nil {
		return 0, 0, err
	}
	defer stopStream()
	var uis, bases []time.Duration
	for _, name := range names {
		var a sollv1.Application
		if err := b.c.Get(ctx, client.ObjectKey{Namespace: sollNamespace, Name: name}, &a); err != nil {
			return 0, 0, err
		}
		next := sollv1.SyncStatusOutOfSync
		if a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync {
			next = sollv1.SyncStatusSynced
		}
		watch := fmt.Sprintf(`(function () {
		  window.seenAt = 0;
		  var cell = document.querySelector('tr[data-app=%q] [data-field="sync"]');
		  new MutationObserver(function (m, o) {
		    if (cell.textContent.trim() === %q) { window.seenAt = Date.now(); o.disconnect(); }
		  }).observe(cell, {subtree: true, childList: true, characterData: true});
		  return true;
		}())`, name, next)
		if _, err := chromedp.Run(cctx, chromedp.Evaluate[bool](watch)); err != nil {
			return 0, 0, err
		}
		start := time.Now()
		a.Status.Sync.Status = next
		if err := b.c.Status().Update(ctx, &a); err != nil {
			return 0, 0, err
		}
		// The plain client's event of this write.
		select {
		case ev := <-events:
			for ev.name != name || ev.sync != string(next) {
				ev = <-events
			}
			bases = append(bases, ev.at.Sub(start))
		case <-time.After(time.Minute):
			return 0, 0, fmt.Errorf("no event of %s on the plain stream within a minute", name)
		}
		seen, err := chromedp.Run(cctx, chromedp.Poll[float64](`window.seenAt || false`, chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(10*time.Millisecond)))
		if err != nil {
			return 0, 0, fmt.Errorf("the change of %s on the page: %w", name, err)
		}
		uis = append(uis, time.UnixMilli(int64(seen)).Sub(start))
	}
	return median(uis), median(bases), nil
}

type streamEvent struct {
	name, sync string
	at         time.Time
}

// stream follows the API's event stream of the named apps as a plain
// client; it returns once their current state has arrived.
func (b *bench) stream(ctx context.Context, names []string) (<-chan streamEvent, func(), error) {
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, b.base+"/api/v1/stream/applications?names="+strings.Join(names, ","), nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	out := make(chan streamEvent, 1024)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 8<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.HasPrefix(line, []byte("data: ")) {
				continue
			}
			at := time.Now()
			var a sollv1.Application
			if json.Unmarshal(line[len("data: "):], &a) != nil || a.Status.Sync == nil {
				continue
			}
			out <- streamEvent{a.Name, string(a.Status.Sync.Status), at}
		}
	}()
	seen := map[string]bool{}
	for len(seen) < len(names) {
		select {
		case ev := <-out:
			seen[ev.name] = true
		case <-time.After(time.Minute):
			cancel()
			return nil, nil, errors.New("the plain stream client got no snapshot of the apps within a minute")
		}
	}
	return out, cancel, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func printTable(out io.Writer, cfg config, rows []row) error {
	// The tabwriter holds everything until Flush, whose error is the
	// writes' error.
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintf(w, "\nsoll web UI in Chromium: %d applications, one with %d resources; median of %d runs\n\n", cfg.apps+1, cfg.resources, cfg.runs)
	_, _ = fmt.Fprintln(w, "page\tmeasure\tsoll UI\tbaseline (API, plain client)\ttarget\tverdict\t")
	for _, r := range rows {
		verdict := "ok"
		if r.ui > r.target {
			verdict = "SLOW"
		}
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t< %s\t%s\t\n", r.what, r.metric, r.ui.Round(time.Millisecond), r.base.Round(time.Millisecond), r.target, verdict)
	}
	return w.Flush()
}
