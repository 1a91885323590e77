package localcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// restartTimeout bounds Restart's wait for readiness when ctx has no
// deadline.
const restartTimeout = 2 * time.Minute

// restartGrace is the time between SIGTERM and SIGKILL in Restart.
// kube-apiserver stops listening and drains its requests at once on
// SIGTERM, then may take more than half a minute to exit.
const restartGrace = 3 * time.Second

// Restart stops one component (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler or kwok) and starts it again with
// the same command line, appending to the same log, then waits until it is
// ready again: etcd healthy, kube-apiserver answering /readyz; the others
// only have to be running. Clients see what they would see when a real
// control plane restarts a component: refused connections, then the same
// cluster. A Cluster is not safe for concurrent use; do not call Restart
// while Stop runs.
func (c *Cluster) Restart(ctx context.Context, component string) error {
	i := slices.IndexFunc(c.Processes, func(p *process) bool { return p.Name == component })
	if i < 0 {
		var names []string
		for _, p := range c.Processes {
			names = append(names, p.Name)
		}
		return fmt.Errorf("restart %s: no such component: the cluster runs %s", component, strings.Join(names, ", "))
	}
	old := c.Processes[i]
	if old.Bin == "" {
		return fmt.Errorf("restart %s: %s does not record its command line (the cluster was started by an older version): stop and start the cluster",
			component, filepath.Join(c.Dir, stateFile))
	}
	var ready func(context.Context) error
	switch component {
	case "etcd":
		url := fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports.EtcdClient)
		ready = func(ctx context.Context) error { return httpOK(ctx, url) }
	case "kube-apiserver":
		api, err := newAPIClient(c.Kubeconfig)
		if err != nil {
			return fmt.Errorf("restart %s: %w", component, err)
		}
		ready = api.readyz
	default:
		ready = func(context.Context) error { return nil }
	}

	if err := old.stop(restartGrace); err != nil {
		return fmt.Errorf("restart %s: %w", component, err)
	}
	p, err := startProcess(c.Dir, old.Name, old.Bin, old.Args)
	if err != nil {
		return fmt.Errorf("restart %s: %w", component, err)
	}
	c.Processes[i] = p
	if err := c.save(); err != nil {
		return fmt.Errorf("restart %s: %w", component, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, restartTimeout)
		defer cancel()
	}
	return c.waitFor(ctx, p, component+" ready after restart", ready)
}
