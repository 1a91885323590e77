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
	if err := c.StopComponent(component); err != nil {
		return err
	}
	return c.StartComponent(ctx, component)
}

// StopComponent stops one component until StartComponent starts it again:
// with kube-apiserver stopped, clients see a cluster whose API server
// refuses connections (an outage), with its state kept.
func (c *Cluster) StopComponent(component string) error {
	_, old, err := c.component(component)
	if err != nil {
		return fmt.Errorf("stop %s: %w", component, err)
	}
	if err := old.stop(restartGrace); err != nil {
		return fmt.Errorf("stop %s: %w", component, err)
	}
	return nil
}

// StartComponent starts a component that StopComponent stopped (one that
// runs is left alone) with the same command line, appending to the same
// log, and waits until it is ready, as Restart does.
func (c *Cluster) StartComponent(ctx context.Context, component string) error {
	i, old, err := c.component(component)
	if err != nil {
		return fmt.Errorf("start %s: %w", component, err)
	}
	if old.alive() {
		return nil
	}
	var ready func(context.Context) error
	switch component {
	case "etcd":
		url := fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports.EtcdClient)
		ready = func(ctx context.Context) error { return httpOK(ctx, url) }
	case "kube-apiserver":
		api, err := newAPIClient(c.Kubeconfig)
		if err != nil {
			return fmt.Errorf("start %s: %w", component, err)
		}
		ready = api.readyz
	default:
		ready = func(context.Context) error { return nil }
	}
	p, err := startProcess(c.Dir, old.Name, old.Bin, old.Args)
	if err != nil {
		return fmt.Errorf("start %s: %w", component, err)
	}
	c.Processes[i] = p
	if err := c.save(); err != nil {
		return fmt.Errorf("start %s: %w", component, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, restartTimeout)
		defer cancel()
	}
	return c.waitFor(ctx, p, component+" ready after a restart", ready)
}

// component finds a component's process by name.
func (c *Cluster) component(component string) (int, *process, error) {
	i := slices.IndexFunc(c.Processes, func(p *process) bool { return p.Name == component })
	if i < 0 {
		var names []string
		for _, p := range c.Processes {
			names = append(names, p.Name)
		}
		return 0, nil, fmt.Errorf("no such component: the cluster runs %s", strings.Join(names, ", "))
	}
	old := c.Processes[i]
	if old.Bin == "" {
		return 0, nil, fmt.Errorf("%s does not record its command line (the cluster was started by an older version): stop and start the cluster",
			filepath.Join(c.Dir, stateFile))
	}
	return i, old, nil
}
