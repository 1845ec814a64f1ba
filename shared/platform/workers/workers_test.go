package workers_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/platform/workers"
)

// TestEach: every item once, never more than n at a time, and none left
// running when Each returns; n below one runs them one at a time.
func TestEach(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 3, 50} {
		items := make([]int, 20)
		for i := range items {
			items[i] = i * 10
		}
		var running, most atomic.Int64
		var mu sync.Mutex
		seen := map[int]int{}
		workers.Each(items, n, func(i, item int) {
			now := running.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			mu.Lock()
			seen[i] += item/10 - i + 1 // 1 when item is items[i]
			mu.Unlock()
			running.Add(-1)
		})
		limit := int64(max(n, 1))
		if most.Load() > limit || running.Load() != 0 || len(seen) != len(items) {
			t.Errorf("n=%d: at most %d at once (limit %d), %d still running, %d items seen", n, most.Load(), limit, running.Load(), len(seen))
		}
		for i, c := range seen {
			if c != 1 {
				t.Errorf("n=%d: item %d handled %d times, or with the wrong value", n, i, c)
			}
		}
	}
	workers.Each([]string(nil), 4, func(int, string) { t.Error("called for no items") })
}
