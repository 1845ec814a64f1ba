package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// SDK is the SDK client's operations that Client names, held
// as method values rather than as the client itself.
//
// Storing *dynamodb.Client in an interface would link every one of its
// operations (about sixty, each with its serializers) into any function
// that also renders a template: text/template calls methods by name through
// reflection, and then the linker keeps every exported method of every type
// that was ever put in an interface. Method values keep only the operations
// named here. TestBootstrapsLinkOnlyTheOperationsTheyCall guards it.
type SDK struct {
	getItem      func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	putItem      func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	updateItem   func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	deleteItem   func(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	query        func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	batchGetItem func(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	scan         func(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// FromSDK returns c's operations as an SDK.
func FromSDK(c *dynamodb.Client) SDK {
	return SDK{getItem: c.GetItem, putItem: c.PutItem, updateItem: c.UpdateItem, deleteItem: c.DeleteItem, query: c.Query,
		batchGetItem: c.BatchGetItem, scan: c.Scan}
}

func (s SDK) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return s.getItem(ctx, in, o...)
}

func (s SDK) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return s.putItem(ctx, in, o...)
}

func (s SDK) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return s.updateItem(ctx, in, o...)
}

func (s SDK) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return s.deleteItem(ctx, in, o...)
}

func (s SDK) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return s.query(ctx, in, o...)
}

func (s SDK) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return s.batchGetItem(ctx, in, o...)
}

func (s SDK) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return s.scan(ctx, in, o...)
}
