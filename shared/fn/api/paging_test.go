package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestPagingOver25000Responses pages GET /api/responses with the largest
// limit over 25,000 answered surveys across ten days: every response comes
// back exactly once and no body reaches 1 MB. The surveys are written
// straight into the table in the store's item shape (batch writes), since
// this tests the listing, not the counting.
func TestPagingOver25000Responses(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	db := awstest.DynamoDB()
	day0 := time.Now().UTC().AddDate(0, 0, -9)
	const n = 25000
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := w * 25; start < n; start += 8 * 25 {
				var reqs []types.WriteRequest
				for i := start; i < min(start+25, n); i++ {
					at := day0.AddDate(0, 0, i%10).Add(time.Duration(i) * time.Millisecond)
					stamp := at.Format("2006-01-02T15:04:05.000Z")
					id := fmt.Sprintf("page%027d", i)
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
						"pk": s("SURVEY#" + id), "sk": s("SURVEY"), "id": s(id), "source": s("generic"), "ticket_id": s(fmt.Sprint(i)),
						"contact_key": s("c"), "kind": s("csat"), "rating": &types.AttributeValueMemberN{Value: fmt.Sprint(1 + i%5)},
						"comment": s(strings.Repeat("feedback ", 10)), "sent_at": s(stamp), "responded_at": s(stamp), "revised_at": s(stamp),
						"day_pk": s("RESP#" + at.Format(time.DateOnly)), "day_sk": s(stamp + "#" + id),
					}}})
				}
				in := &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{st.Config.Table: reqs}}
				for len(in.RequestItems[st.Config.Table]) > 0 {
					out, err := db.BatchWriteItem(context.Background(), in)
					if err != nil {
						errs <- err
						return
					}
					in.RequestItems = out.UnprocessedItems
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, n)
	cursor, pages, largest := "", 0, 0
	q := fmt.Sprintf("from=%s&to=%s&limit=%d", day0.Format(time.DateOnly), time.Now().UTC().Format(time.DateOnly), api.MaxLimit)
	for ; pages < 200; pages++ {
		w := call(t, st.Handler, "GET", "/api/responses?"+q+"&cursor="+url.QueryEscape(cursor), "", st.Config.AdminToken, nil)
		if w.Code != 200 {
			t.Fatalf("page %d: %d %s", pages, w.Code, w.Body)
		}
		largest = max(largest, w.Body.Len())
		var page struct {
			Responses  []api.Response
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Responses {
			if seen[r.ID] {
				t.Fatalf("response %s on two pages", r.ID)
			}
			seen[r.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != n || largest >= 1<<20 {
		t.Errorf("%d responses over %d pages, the largest body %d bytes; want %d, each under 1 MB", len(seen), pages+1, largest, n)
	}
	t.Logf("%d responses in %d pages; largest body %d bytes", len(seen), pages+1, largest)
}
