// Package workers runs one function over many items a few at a time: the
// sweep's due tickets, a closing batch's people, an improvements listing's
// reads.
package workers

import "sync"

// Each calls f(i, items[i]) for every item, at most n at a time (at least
// one), and returns when every call has returned. f is called from several
// goroutines: what it shares, it guards.
func Each[T any](items []T, n int, f func(i int, item T)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(n, 1), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i, items[i])
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
}
