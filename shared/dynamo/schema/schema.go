// Package schema is the one description of Closeloop's DynamoDB table: its
// key attributes and indexes. The CDK stack (infra/) and the local table
// creation (shared/dynamo) both build the table from it, so they cannot drift.
// It has no dependencies, so the CDK module can import it without the AWS SDK.
package schema

// Projection says which attributes an index copies.
type Projection string

// Index projections, named as DynamoDB names them.
const (
	KeysOnly Projection = "KEYS_ONLY"
	All      Projection = "ALL"
)

// Index is one global secondary index. Both keys are string attributes.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
	Projection   Projection
	// Purpose is the access pattern it serves, for the reader of the stack.
	Purpose string
}

// Table is the whole table: string partition and sort keys, billed on demand.
type Table struct {
	PartitionKey string
	SortKey      string
	Indexes      []Index
	// TTLAttribute holds an expiry in unix seconds for housekeeping only;
	// no code depends on DynamoDB deleting anything.
	TTLAttribute string
}

// Closeloop is the table every function uses.
var Closeloop = Table{
	PartitionKey: "pk",
	SortKey:      "sk",
	TTLAttribute: "expires_ttl",
	Indexes: []Index{
		{
			Name: "due", PartitionKey: "due_pk", SortKey: "due_sk", Projection: KeysOnly,
			Purpose: "surveys due to go out, and sends whose lease ran out; sharded partitions, sorted by time",
		},
		{
			Name: "by_day", PartitionKey: "day_pk", SortKey: "day_sk", Projection: All,
			Purpose: "responses by the day they were first given, for listing and export",
		},
		{
			Name: "by_contact", PartitionKey: "contact_key", SortKey: "pk", Projection: KeysOnly,
			Purpose: "every ticket and survey of one contact, for erasure",
		},
	},
}

// AttributeNames returns every key attribute of the table and its indexes,
// once each, in a stable order.
func (t Table) AttributeNames() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	add(t.PartitionKey)
	add(t.SortKey)
	for _, ix := range t.Indexes {
		add(ix.PartitionKey)
		add(ix.SortKey)
	}
	return out
}
