package snapshot

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Copier deep-copies values of type T by a plan built once.
type Copier[T any] struct {
	p *plan
}

// For returns the Copier for T, building and checking its plan (cached: a
// second call is a map lookup). The error is an *UncopyableError naming
// the field.
func For[T any]() (*Copier[T], error) {
	p, err := planFor(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	return &Copier[T]{p: p}, nil
}

// check builds and checks the plan for t without a Copier.
func check(t reflect.Type) error {
	_, err := planFor(t)
	return err
}

// Copy returns a deep copy of *src: nothing in it that msgpack would encode
// shares memory with src, except strings (immutable) and values a
// SnapshotCopy method returned. It errors on a value nested deeper than
// 1024 levels (a cycle of pointers), and on an interface holding an
// uncopyable type.
func (c *Copier[T]) Copy(src *T) (*T, error) {
	dst := new(T)
	if err := c.copyInto(dst, src); err != nil {
		return nil, err
	}
	return dst, nil
}

// copyInto deep-copies *src into *dst, overwriting it.
func (c *Copier[T]) copyInto(dst, src *T) error {
	*dst = *src // the one move; strings and flat fields are done
	if !c.p.deep {
		return nil
	}
	return c.p.fix(unsafe.Pointer(dst), unsafe.Pointer(src), 0)
}

// sliceHeader is the layout of every Go slice. Storing one through a typed
// pointer keeps the garbage collector's write barrier on its data pointer.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// batchSlices copies field f (a slice of values needing no fix-up) of n
// struct elements from src to dst with one allocation for all of them:
// each copy is a full-capacity subslice of a shared backing array, so an
// append to one never reaches another.
func batchSlices(f fieldPlan, dst, src unsafe.Pointer, n int, stride uintptr) {
	total := 0
	for i := range uintptr(n) {
		if sh := (*sliceHeader)(unsafe.Add(src, i*stride+f.offset)); sh.data != nil {
			total += sh.len
		}
	}
	st := f.plan.t
	backing := reflect.MakeSlice(st, total, total)
	esize := st.Elem().Size()
	flat := !hasPointers(st.Elem(), map[reflect.Type]bool{})
	base := backing.UnsafePointer()
	off := 0
	for i := range uintptr(n) {
		sh := (*sliceHeader)(unsafe.Add(src, i*stride+f.offset))
		if sh.data == nil {
			continue // the value copy already left it nil
		}
		part := unsafe.Add(base, uintptr(off)*esize)
		if flat {
			copy(unsafe.Slice((*byte)(part), uintptr(sh.len)*esize), unsafe.Slice((*byte)(sh.data), uintptr(sh.len)*esize))
		} else {
			reflect.Copy(backing.Slice3(off, off+sh.len, off+sh.len), reflect.NewAt(st, unsafe.Pointer(sh)).Elem())
		}
		if sh.len == 0 {
			part = base // a non-nil empty slice stays non-nil
		}
		*(*sliceHeader)(unsafe.Add(dst, i*stride+f.offset)) = sliceHeader{data: part, len: sh.len, cap: sh.len}
		off += sh.len
	}
}

// fixFields is fix for a struct element whose batched fields are done.
func (p *plan) fixFields(dst, src unsafe.Pointer, depth int, batched bool) error {
	if !batched || p.t.Kind() != reflect.Struct || p.method >= 0 {
		return p.fix(dst, src, depth)
	}
	for i := range p.fields {
		f := &p.fields[i]
		if !f.plan.deep || batchable(*f) {
			continue
		}
		if err := f.plan.fix(unsafe.Add(dst, f.offset), unsafe.Add(src, f.offset), depth); err != nil {
			return err
		}
	}
	return nil
}

// fix is fixup on memory: dst holds a value copy of the value at src, both
// of type p.t. Structs, arrays, slices, pointers and common maps are walked
// by offset, without building reflect.Values; the rest goes through fixup.
// Every pointer is stored through a pointer-typed location, so the
// collector's write barriers apply as they would to ordinary Go stores.
func (p *plan) fix(dst, src unsafe.Pointer, depth int) error {
	if depth > maxDepth {
		return errTooDeep(p.t)
	}
	if p.method >= 0 || p.isIface {
		return fixup(p, reflect.NewAt(p.t, dst).Elem(), reflect.NewAt(p.t, src).Elem(), depth)
	}
	switch p.t.Kind() {
	case reflect.Struct:
		for i := range p.fields {
			f := &p.fields[i]
			if f.plan.deep {
				if err := f.plan.fix(unsafe.Add(dst, f.offset), unsafe.Add(src, f.offset), depth); err != nil {
					return err
				}
			}
		}
	case reflect.Array:
		if p.elem.deep {
			size := p.elem.t.Size()
			for i := range uintptr(p.t.Len()) {
				if err := p.elem.fix(unsafe.Add(dst, i*size), unsafe.Add(src, i*size), depth+1); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		s := (*sliceHeader)(src)
		if s.data == nil {
			return nil
		}
		ns := reflect.MakeSlice(p.t, s.len, s.len)
		reflect.Copy(ns, reflect.NewAt(p.t, src).Elem()) // one move for the whole slice
		data := ns.UnsafePointer()
		size := p.elem.t.Size()
		for _, f := range p.batch {
			batchSlices(f, data, s.data, s.len, size)
		}
		if p.elem.deep {
			for i := range uintptr(s.len) {
				if err := p.elem.fixFields(unsafe.Add(data, i*size), unsafe.Add(s.data, i*size), depth+1, len(p.batch) > 0); err != nil {
					return err
				}
			}
		}
		*(*sliceHeader)(dst) = sliceHeader{data: data, len: s.len, cap: s.len}
	case reflect.Pointer:
		sp := *(*unsafe.Pointer)(src)
		if sp == nil {
			return nil
		}
		et := p.t.Elem()
		np := reflect.New(et).UnsafePointer()
		reflect.NewAt(et, np).Elem().Set(reflect.NewAt(et, sp).Elem())
		if p.elem.deep {
			if err := p.elem.fix(np, sp, depth+1); err != nil {
				return err
			}
		}
		*(*unsafe.Pointer)(dst) = np
	case reflect.Map:
		if p.mapFast != nil {
			p.mapFast(dst, src)
			return nil
		}
		return fixup(p, reflect.NewAt(p.t, dst).Elem(), reflect.NewAt(p.t, src).Elem(), depth)
	}
	return nil
}

// errTooDeep is returned for values nested beyond maxDepth.
func errTooDeep(t reflect.Type) error {
	return fmt.Errorf("snapshot: %s nested deeper than %d levels (a cycle of pointers?)", t, maxDepth)
}

// settable returns a settable view of the addressable value v, even when v
// was reached through an unexported field.
func settable(v reflect.Value) reflect.Value {
	if v.CanSet() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// fixup makes dst, which holds a value copy of src, a deep copy of src:
// every part of it that shares mutable memory with src is replaced by a
// copy. dst is settable; src is only read.
func fixup(p *plan, dst, src reflect.Value, depth int) error {
	if depth > maxDepth {
		return errTooDeep(p.t)
	}
	if p.method >= 0 {
		return callCopy(p, dst, src)
	}
	switch p.t.Kind() {
	case reflect.Struct:
		if !src.CanAddr() {
			// A struct inside an interface or a map: reach its fields
			// through an addressable (shallow) copy.
			c := reflect.New(p.t).Elem()
			c.Set(src)
			src = c
		}
		for _, f := range p.fields {
			if !f.plan.deep {
				continue
			}
			sf := src.Field(f.index)
			df := dst.Field(f.index)
			if !f.exported {
				sf, df = settable(sf), settable(df)
			}
			if err := fixup(f.plan, df, sf, depth); err != nil {
				return err
			}
		}
	case reflect.Array:
		if p.elem.deep {
			for i := range p.t.Len() {
				if err := fixup(p.elem, dst.Index(i), src.Index(i), depth+1); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return nil
		}
		n := src.Len()
		ns := reflect.MakeSlice(p.t, n, n)
		reflect.Copy(ns, src) // one move for the whole slice
		if p.elem.deep {
			for i := range n {
				if err := fixup(p.elem, ns.Index(i), src.Index(i), depth+1); err != nil {
					return err
				}
			}
		}
		dst.Set(ns)
	case reflect.Pointer:
		if src.IsNil() {
			return nil
		}
		np := reflect.New(p.t.Elem())
		np.Elem().Set(src.Elem())
		if p.elem.deep {
			if err := fixup(p.elem, np.Elem(), src.Elem(), depth+1); err != nil {
				return err
			}
		}
		dst.Set(np)
	case reflect.Map:
		if src.IsNil() {
			return nil
		}
		if p.mapFast != nil && src.CanAddr() && dst.CanAddr() {
			p.mapFast(unsafe.Pointer(dst.UnsafeAddr()), unsafe.Pointer(src.UnsafeAddr()))
			return nil
		}
		nm := reflect.MakeMapWithSize(p.t, src.Len())
		k := reflect.New(p.t.Key()).Elem()
		v := reflect.New(p.t.Elem()).Elem()
		it := src.MapRange()
		for it.Next() {
			k.SetIterKey(it)
			if p.ifaceKeys && !k.IsNil() {
				kp, err := planFor(k.Elem().Type())
				if err != nil {
					return fmt.Errorf("snapshot: map key holds %s: %w", k.Elem().Type(), err)
				}
				if kp.deep {
					return &UncopyableError{Type: k.Elem().Type(), Path: p.t.String() + "{key}", Why: "map keys that hold pointers would be shared"}
				}
			}
			v.SetIterValue(it)
			if p.elem.deep {
				nv := reflect.New(p.t.Elem()).Elem()
				nv.Set(v)
				if err := fixup(p.elem, nv, v, depth+1); err != nil {
					return err
				}
				nm.SetMapIndex(k, nv)
			} else {
				nm.SetMapIndex(k, v)
			}
		}
		dst.Set(nm)
	case reflect.Interface:
		if src.IsNil() {
			return nil
		}
		dyn := src.Elem()
		dp, err := planFor(dyn.Type())
		if err != nil {
			return fmt.Errorf("snapshot: interface holds %s: %w", dyn.Type(), err)
		}
		if !dp.deep {
			return nil // the boxed value cannot be changed through the original
		}
		// The boxed value is not addressable, and neither is anything
		// reached from it by value (an array's elements, a struct's
		// fields): copy it into memory of its own, once as the source
		// to read and once as the destination to fix up, and walk both
		// by address like any other value.
		sv := reflect.New(dyn.Type())
		sv.Elem().Set(dyn)
		nv := reflect.New(dyn.Type())
		nv.Elem().Set(dyn)
		if err := dp.fix(nv.UnsafePointer(), sv.UnsafePointer(), depth+1); err != nil {
			return err
		}
		dst.Set(nv.Elem())
	}
	return nil
}

// callCopy replaces dst with the result of src's SnapshotCopy method.
func callCopy(p *plan, dst, src reflect.Value) (err error) {
	recv := src
	if p.viaPtr {
		if !src.CanAddr() {
			c := reflect.New(p.t).Elem()
			c.Set(src)
			recv = c
		}
		recv = recv.Addr()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("snapshot: %s.SnapshotCopy panicked: %v", p.t, r)
		}
	}()
	dst.Set(recv.Method(p.method).Call(nil)[0])
	return nil
}
