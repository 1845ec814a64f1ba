// Package tmplcheck walks every branch of a template with the types of the
// data it is given and reports each field chain that names a method, or
// nothing at all. The bootstraps are built without text/template's method
// lookup (shared/local/lambdabuild), so a method call in a template fails
// at run time in AWS; a test that renders a page once checks only the
// branches that page took, and this checks the others.
//
// Types come from the data's values where there are some (an interface
// field holding a struct, a map's entries, a slice's first element) and
// from the static types otherwise; where neither tells (a nil interface, a
// function's result) the walk does not go deeper, so it reports no false
// alarm but may miss a call behind such a value.
package tmplcheck

import (
	"fmt"
	htmltemplate "html/template"
	"maps"
	"reflect"
	"sort"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
)

// Lookup returns the parse tree of a template of the set by name, nil if
// there is none: for html/template, func(n string) *parse.Tree { if t :=
// set.Lookup(n); t != nil { return t.Tree }; return nil }.
type Lookup func(name string) *parse.Tree

// Problems walks template name of the set with data as dot, and returns
// what it found, sorted, each naming the template, the type and the name.
// Given the set's functions (its FuncMap), a call whose arguments are all
// known is made and its result walked too: the functions must be pure.
func Problems(lookup Lookup, name string, data any, funcs ...map[string]any) []string {
	w := &walker{lookup: lookup, seen: map[string]bool{}, found: map[string]bool{}, funcs: map[string]any{}}
	for _, f := range funcs {
		maps.Copy(w.funcs, f)
	}
	w.template(name, of(reflect.ValueOf(data)))
	out := make([]string, 0, len(w.found))
	for p := range w.found {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// val is a value's type and, when known, the value; a nil t is unknown.
type val struct {
	t reflect.Type
	v reflect.Value
}

func of(v reflect.Value) val {
	for v.IsValid() && v.Kind() == reflect.Interface {
		if v.IsNil() {
			return val{}
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return val{}
	}
	return val{t: v.Type(), v: v}
}

type walker struct {
	lookup Lookup
	seen   map[string]bool // template and dot type walked already
	found  map[string]bool
	funcs  map[string]any
}

func (w *walker) template(name string, dot val) {
	key := fmt.Sprintf("%s|%v", name, dot.t)
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	tree := w.lookup(name)
	if tree == nil || tree.Root == nil {
		return
	}
	w.list(name, tree.Root, dot, map[string]val{"$": dot})
}

func (w *walker) list(name string, l *parse.ListNode, dot val, vars map[string]val) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			w.pipe(name, n.Pipe, dot, vars)
		// A block's variables end with it (maps.Clone: a scope of its own).
		case *parse.IfNode:
			scope := maps.Clone(vars)
			w.pipe(name, n.Pipe, dot, scope)
			w.list(name, n.List, dot, scope)
			w.list(name, n.ElseList, dot, maps.Clone(vars))
		case *parse.WithNode:
			scope := maps.Clone(vars)
			x := w.pipe(name, n.Pipe, dot, scope)
			w.list(name, n.List, x, scope)
			w.list(name, n.ElseList, dot, maps.Clone(vars))
		case *parse.RangeNode:
			scope := maps.Clone(vars)
			x := w.pipe(name, n.Pipe, dot, scope)
			k, e := elements(x)
			switch len(n.Pipe.Decl) {
			case 1:
				scope[n.Pipe.Decl[0].Ident[0]] = e
			case 2:
				scope[n.Pipe.Decl[0].Ident[0]], scope[n.Pipe.Decl[1].Ident[0]] = k, e
			}
			w.list(name, n.List, e, scope)
			w.list(name, n.ElseList, dot, maps.Clone(vars))
		case *parse.TemplateNode:
			var arg val
			if n.Pipe != nil {
				arg = w.pipe(name, n.Pipe, dot, vars)
			}
			w.template(n.Name, arg)
		case *parse.ListNode:
			w.list(name, n, dot, vars)
		}
	}
}

// pipe checks a pipeline and returns its result: its last command's.
func (w *walker) pipe(name string, p *parse.PipeNode, dot val, vars map[string]val) val {
	if p == nil {
		return val{}
	}
	var out val
	for i, c := range p.Cmds {
		out = w.command(name, c, dot, vars, out, i > 0)
	}
	if len(p.Decl) == 1 { // $x := … declares, $x = … assigns: either way $x now holds out
		vars[p.Decl[0].Ident[0]] = out
	}
	return out
}

// command checks one command of a pipeline; prev is the result of the one
// before it, passed as a function's last argument when piped.
func (w *walker) command(name string, c *parse.CommandNode, dot val, vars map[string]val, prev val, piped bool) val {
	if len(c.Args) == 0 {
		return val{}
	}
	if id, fn := c.Args[0].(*parse.IdentifierNode); fn {
		args := make([]val, 0, len(c.Args))
		for _, a := range c.Args[1:] {
			args = append(args, w.arg(name, a, dot, vars))
		}
		if piped {
			args = append(args, prev)
		}
		return call(w.funcs[id.Ident], args)
	}
	return w.arg(name, c.Args[0], dot, vars)
}

// call makes fn(args...) when fn is known and every argument's value is,
// and returns its first result; else unknown. A panic is unknown too.
func call(fn any, args []val) (out val) {
	f := reflect.ValueOf(fn)
	if !f.IsValid() || f.Kind() != reflect.Func || f.Type().NumOut() == 0 {
		return val{}
	}
	ft := f.Type()
	if ft.IsVariadic() && len(args) < ft.NumIn()-1 || !ft.IsVariadic() && len(args) != ft.NumIn() {
		return val{}
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		want := ft.In(min(i, ft.NumIn()-1))
		if ft.IsVariadic() && i >= ft.NumIn()-1 {
			want = want.Elem()
		}
		if !a.v.IsValid() || !a.v.Type().ConvertibleTo(want) {
			return val{}
		}
		in[i] = a.v.Convert(want)
	}
	defer func() {
		if recover() != nil {
			out = val{}
		}
	}()
	return of(f.Call(in)[0])
}

func (w *walker) arg(name string, n parse.Node, dot val, vars map[string]val) val {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return w.fields(name, dot, n.Ident)
	case *parse.VariableNode:
		return w.fields(name, vars[n.Ident[0]], n.Ident[1:])
	case *parse.ChainNode:
		return w.fields(name, w.arg(name, n.Node, dot, vars), n.Field)
	case *parse.PipeNode:
		return w.pipe(name, n, dot, vars)
	case *parse.StringNode:
		return of(reflect.ValueOf(n.Text))
	case *parse.BoolNode:
		return of(reflect.ValueOf(n.True))
	case *parse.NumberNode:
		switch {
		case n.IsInt:
			return of(reflect.ValueOf(int(n.Int64)))
		case n.IsFloat:
			return of(reflect.ValueOf(n.Float64))
		}
	}
	return val{}
}

// fields follows a chain of names from x, as text/template would without
// its method lookup: struct fields and map keys.
func (w *walker) fields(name string, x val, idents []string) val {
	for _, id := range idents {
		x = w.field(name, x, id)
	}
	return x
}

func (w *walker) field(name string, x val, id string) val {
	if x.t == nil {
		return val{}
	}
	t, v := deref(x)
	if _, ok := reflect.PointerTo(t).MethodByName(id); ok && t.Kind() != reflect.Interface {
		w.found[fmt.Sprintf("%s: .%s is a method of %v: the bootstraps' text/template calls no method", name, id, t)] = true
		return val{}
	}
	switch t.Kind() {
	case reflect.Struct:
		f, ok := t.FieldByName(id)
		if !ok || !f.IsExported() {
			w.found[fmt.Sprintf("%s: %v has no field %s", name, t, id)] = true
			return val{}
		}
		if v.IsValid() {
			if fv, err := v.FieldByIndexErr(f.Index); err == nil {
				if r := of(fv); r.t != nil || f.Type.Kind() == reflect.Interface {
					return r
				}
			}
		}
		if f.Type.Kind() == reflect.Interface {
			return val{}
		}
		return val{t: f.Type}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return val{}
		}
		if v.IsValid() {
			if mv := v.MapIndex(reflect.ValueOf(id).Convert(t.Key())); mv.IsValid() {
				return of(mv)
			}
		}
		if t.Elem().Kind() == reflect.Interface {
			return val{}
		}
		return val{t: t.Elem()}
	case reflect.Interface:
		return val{}
	}
	w.found[fmt.Sprintf("%s: %v has no field %s", name, t, id)] = true
	return val{}
}

// elements returns the key and element a range over x sees.
func elements(x val) (val, val) {
	if x.t == nil {
		return val{}, val{}
	}
	t, v := deref(x)
	static := func(et reflect.Type) val {
		if et.Kind() == reflect.Interface {
			return val{}
		}
		return val{t: et}
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		e := static(t.Elem())
		if v.IsValid() && v.Len() > 0 {
			if r := of(v.Index(0)); r.t != nil {
				e = r
			}
		}
		return val{t: reflect.TypeFor[int]()}, e
	case reflect.Map:
		k, e := static(t.Key()), static(t.Elem())
		if v.IsValid() && v.Len() > 0 {
			it := v.MapRange()
			it.Next()
			if r := of(it.Value()); r.t != nil {
				e = r
			}
		}
		return k, e
	case reflect.Int:
		return val{t: t}, val{t: t}
	}
	return val{}, val{}
}

// deref is x's type and value through one pointer, as text/template
// follows them (a method of *T is one of T's for this check).
func deref(x val) (reflect.Type, reflect.Value) {
	t, v := x.t, x.v
	if t.Kind() != reflect.Pointer {
		return t, v
	}
	if v.IsValid() && !v.IsNil() {
		return t.Elem(), v.Elem()
	}
	return t.Elem(), reflect.Value{}
}

// HTML is the Lookup of an html/template set.
func HTML(set *htmltemplate.Template) Lookup {
	return func(n string) *parse.Tree {
		if t := set.Lookup(n); t != nil {
			return t.Tree
		}
		return nil
	}
}

// Text is the Lookup of a text/template set.
func Text(set *texttemplate.Template) Lookup {
	return func(n string) *parse.Tree {
		if t := set.Lookup(n); t != nil {
			return t.Tree
		}
		return nil
	}
}

// Recorder gathers what Problems finds in every template a package's
// tests render, for one test to report at the end: a package sets its
// render hook to Check in a test file.
type Recorder struct {
	mu       sync.Mutex
	rendered map[string]bool
	found    map[string]bool
}

// Check walks template name of set with data (and the set's functions)
// and keeps what it finds.
func (r *Recorder) Check(set Lookup, name string, data any, funcs ...map[string]any) {
	found := Problems(set, name, data, funcs...)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rendered == nil {
		r.rendered, r.found = map[string]bool{}, map[string]bool{}
	}
	r.rendered[name] = true
	for _, p := range found {
		r.found[p] = true
	}
}

// Results returns the templates checked so far and what was found in
// them, each sorted.
func (r *Recorder) Results() (rendered, found []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n := range r.rendered {
		rendered = append(rendered, n)
	}
	for p := range r.found {
		found = append(found, p)
	}
	sort.Strings(rendered)
	sort.Strings(found)
	return rendered, found
}
