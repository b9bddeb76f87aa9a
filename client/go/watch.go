package credd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Event is one change the daemon reports: Type is "changed", "deleted", "refreshed",
// "locked" or "unlocked"; Name and Version are the credential's (empty and 0 for locked and
// unlocked). Never a value.
type Event struct {
	Type    string
	Name    string
	Version int64
}

// WatchOptions narrows a Watch.
type WatchOptions struct {
	// Names are the credentials to watch; empty: every one.
	Names []string
	// Holder is what this process is ("exec", "render"), shown by `credd status`.
	Holder string
}

// HeartbeatInterval is how often the daemon sends a heartbeat; Watch takes three missed in
// a row for a lost connection, whatever the client's Timeout.
const HeartbeatInterval = 5 * time.Second

const (
	missedHeartbeats = 3
	firstRetry       = 50 * time.Millisecond
	longestRetry     = 2 * time.Second
)

var eventTypes = map[string]bool{
	"changed": true, "deleted": true, "refreshed": true, "locked": true, "unlocked": true,
}

// Watch calls fn with every change event (GET /v1/events) until ctx ends (it then returns
// ctx.Err()), fn returns an error (returned as is), or the daemon refuses the watch (a bad
// name, a view that is gone). A lost connection (a daemon restart, three missed heartbeats)
// is opened again; then, as after "unlocked", Watch compares versions with a List and calls fn
// with "changed" for each credential whose version moved and "deleted" for each that
// vanished. Events are not replayed, and a version already seen is not delivered twice.
func (c *Client) Watch(ctx context.Context, opts WatchOptions, fn func(Event) error) error {
	w := &watcher{client: c, fn: fn}
	if len(opts.Names) > 0 {
		w.wanted = map[string]bool{}
		for _, name := range opts.Names {
			w.wanted[name] = true
		}
	}
	target := watchTarget(opts)
	delay := firstRetry
	for {
		err := w.stream(ctx, target, func() { delay = firstRetry })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrTimeout) && !errors.Is(err, errLost) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
		if delay > longestRetry {
			delay = longestRetry
		}
	}
}

var errLost = errors.New("the event stream was lost")

type watcher struct {
	client *Client
	fn     func(Event) error
	wanted map[string]bool
	known  map[string]int64 // nil: no baseline yet (never connected, or locked)
}

func watchTarget(opts WatchOptions) string {
	names := append([]string(nil), opts.Names...)
	sort.Strings(names)
	var query []string
	for _, name := range names {
		query = append(query, "name="+EncodePathSegment(name))
	}
	if opts.Holder != "" {
		query = append(query, "holder="+EncodePathSegment(opts.Holder))
	}
	if len(query) == 0 {
		return "/v1/events"
	}
	return "/v1/events?" + strings.Join(query, "&")
}

// stream runs one connection: opens it, catches up, then delivers its events.
func (w *watcher) stream(ctx context.Context, target string, connected func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Scheme: "http", Host: "localhost", Opaque: target},
		Header: http.Header{},
		Host:   "localhost",
	}
	resp, err := w.client.http.Do(req.WithContext(ctx))
	if err != nil {
		return w.client.exchangeError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return errorFrom(resp.StatusCode, data)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() {
			select {
			case lines <- scanner.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := w.catchUp(ctx); err != nil {
		return err
	}
	connected()
	silence := time.NewTimer(missedHeartbeats * HeartbeatInterval)
	defer silence.Stop()
	var kind, data string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-silence.C:
			return errLost
		case line, open := <-lines:
			if !open {
				return errLost // the daemon ended the stream (it stops) or the connection broke
			}
			if !silence.Stop() {
				<-silence.C
			}
			silence.Reset(missedHeartbeats * HeartbeatInterval)
			switch {
			case strings.HasPrefix(line, ":"): // a heartbeat
			case strings.HasPrefix(line, "event:"):
				kind = strings.TrimPrefix(strings.TrimPrefix(line, "event:"), " ")
			case strings.HasPrefix(line, "data:"):
				data = strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			case line == "":
				if kind != "" && data != "" {
					if err := w.dispatch(ctx, kind, data); err != nil {
						return err
					}
				}
				kind, data = "", ""
			}
		}
	}
}

func (w *watcher) dispatch(ctx context.Context, kind, data string) error {
	if !eventTypes[kind] {
		return nil // a type a newer daemon added
	}
	var decoded struct {
		Name    *string `json:"name"`
		Version *int64  `json:"version"`
	}
	if err := json.Unmarshal([]byte(data), &decoded); err != nil {
		return unexpected("an event that is not JSON")
	}
	event := Event{Type: kind}
	if decoded.Name != nil {
		event.Name = *decoded.Name
	}
	if decoded.Version != nil {
		event.Version = *decoded.Version
	}
	if kind == "unlocked" {
		if err := w.fn(event); err != nil {
			return err
		}
		return w.catchUp(ctx)
	}
	if !w.isNew(event) {
		return nil
	}
	w.learn(event)
	return w.fn(event)
}

// catchUp compares versions with a List: "changed" for what moved, "deleted" for what went.
// The first time (no baseline), it only takes the baseline.
func (w *watcher) catchUp(ctx context.Context) error {
	listed, err := w.client.List(ctx)
	if errors.Is(err, ErrLocked) {
		return nil // the "unlocked" event brings the next catch-up
	}
	if err != nil {
		return err
	}
	current := map[string]int64{}
	for _, cred := range listed {
		if w.wanted == nil || w.wanted[cred.Name] {
			version := cred.Version
			if version == 0 {
				version = 1
			}
			current[cred.Name] = version
		}
	}
	if w.known == nil {
		w.known = current
		return nil
	}
	names := make([]string, 0, len(current))
	for name := range current {
		names = append(names, name)
	}
	sort.Strings(names)
	var missed []Event
	for _, name := range names {
		if version, seen := w.known[name]; !seen || version != current[name] {
			missed = append(missed, Event{Type: "changed", Name: name, Version: current[name]})
		}
	}
	gone := make([]string, 0)
	for name := range w.known {
		if _, still := current[name]; !still {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	for _, name := range gone {
		missed = append(missed, Event{Type: "deleted", Name: name, Version: w.known[name]})
	}
	for _, event := range missed {
		w.learn(event)
		if err := w.fn(event); err != nil {
			return err
		}
	}
	return nil
}

func (w *watcher) isNew(event Event) bool {
	if w.known == nil || event.Name == "" {
		return true
	}
	version, seen := w.known[event.Name]
	if event.Type == "deleted" {
		return seen
	}
	return !seen || version != event.Version
}

func (w *watcher) learn(event Event) {
	if w.known == nil || event.Name == "" {
		return
	}
	if event.Type == "deleted" {
		delete(w.known, event.Name)
	} else {
		w.known[event.Name] = event.Version
	}
}
