package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/dynamo/schema"
)

// indexWrites counts the global secondary index writes of every write the
// store sends, as DynamoDB bills them, since the local server reports only
// the table's: it reads the item before and after each PutItem, UpdateItem
// and DeleteItem and applies each index's rules. An item entering or
// leaving an index is one write, a changed index key two (delete and put),
// and a change to a projected attribute one; each write is one unit per
// KB of the projected item. Every call to the table, reads too, is also
// passed to note with the kind of item it names and the units its answer
// reports, for the ledger.
type indexWrites struct {
	next  http.RoundTripper
	db    *dynamodb.Client // reads around each write, outside the count
	table string
	add   func(units float64)
	note  func(op, kind string, r, w, ix float64) // nil for no ledger
}

func (x *indexWrites) RoundTrip(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	if op == "" || r.Body == nil {
		return x.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		TableName    string
		Key, Item    map[string]map[string]any
		RequestItems map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &in); err != nil || in.TableName != x.table && in.RequestItems[x.table] == nil {
		return x.next.RoundTrip(r)
	}
	write := op == "PutItem" || op == "UpdateItem" || op == "DeleteItem"
	k := in.Key
	if k == nil {
		k = in.Item
	}
	pk, _ := k["pk"]["S"].(string)
	sk, _ := k["sk"]["S"].(string)
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
	var before map[string]types.AttributeValue
	if write {
		before = x.item(r.Context(), key)
	}
	res, err := x.next.RoundTrip(r)
	if err != nil || res.StatusCode != http.StatusOK {
		return res, err
	}
	var u float64
	if write {
		u = indexUnits(before, x.item(r.Context(), key))
		if os.Getenv("BENCH_CAPACITY_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "    %-10s %-40.40s %-30.30s index %.1f WCU\n", op, pk, sk, u)
		}
		x.add(u)
	}
	if x.note != nil && res.Header.Get("Content-Encoding") == "" {
		out, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(out))
		cr, cw := consumedUnits(op, out)
		x.note(op, requestKind(op, body), cr, cw, u)
	}
	return res, nil
}

func (x *indexWrites) item(ctx context.Context, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	out, err := x.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &x.table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil
	}
	return out.Item
}

// indexUnits is the index write units of one item going from before to
// after (nil for absent) under the table's indexes.
func indexUnits(before, after map[string]types.AttributeValue) float64 {
	var units float64
	for _, ix := range schema.Closeloop.Indexes {
		b, a := project(ix, before), project(ix, after)
		switch {
		case b == nil && a == nil:
		case b == nil:
			units += kb(a)
		case a == nil:
			units += kb(b)
		case !reflect.DeepEqual(b[ix.PartitionKey], a[ix.PartitionKey]) || !reflect.DeepEqual(b[ix.SortKey], a[ix.SortKey]):
			units += kb(b) + kb(a)
		case !reflect.DeepEqual(b, a):
			units += kb(a)
		}
	}
	return units
}

// project is item as index ix holds it, or nil when the item is not in it.
func project(ix schema.Index, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item[ix.PartitionKey] == nil || item[ix.SortKey] == nil {
		return nil
	}
	if ix.Projection == schema.All {
		return item
	}
	out := map[string]types.AttributeValue{}
	for _, n := range []string{"pk", "sk", ix.PartitionKey, ix.SortKey} {
		out[n] = item[n]
	}
	return out
}

// kb is the write units of an item: its size, names and values, in KB
// rounded up.
func kb(item map[string]types.AttributeValue) float64 {
	n := 0
	for name, v := range item {
		n += len(name) + avSize(v)
	}
	return float64((n + 1023) / 1024)
}

func avSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + avSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + avSize(e)
		}
		return n
	default:
		return 1
	}
}
