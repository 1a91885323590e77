package health

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// maxRepBytes bounds string.rep, the one library function that can allocate
// without running instructions the limits see.
const maxRepBytes = 1 << 20

// openSandbox opens the libraries a health check may use: base, string,
// table, math, and the clock part of os (time, date, clock, difftime), which
// Argo CD's scripts also get. The base functions that load code or reach
// outside the state (dofile, loadfile, load, loadstring, require, module,
// collectgarbage, getfenv, setfenv, newproxy), string.dump and the rest of os
// raise an error that says they are not available. io, package, debug,
// channel and coroutine are not opened. print does nothing, so scripts that
// print while debugging still run.
func openSandbox(L *lua.LState) {
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.OsLibName, lua.OpenOs},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	// Stubs rather than nil, so a script that tries one learns why it fails.
	for _, name := range []string{
		"dofile", "loadfile", "load", "loadstring", "require", "module",
		"collectgarbage", "getfenv", "setfenv", "newproxy",
	} {
		L.SetGlobal(name, unavailable(L, name))
	}
	L.SetGlobal("_printregs", lua.LNil)
	L.SetGlobal("print", L.NewFunction(func(*lua.LState) int { return 0 }))

	// The full os table stays reachable only from the registry, which no
	// opened library exposes.
	fullOS := L.GetGlobal(lua.OsLibName).(*lua.LTable)
	safeOS := L.NewTable()
	for _, name := range []string{"time", "date", "clock", "difftime"} {
		safeOS.RawSetString(name, fullOS.RawGetString(name))
	}
	osMeta := L.NewTable()
	osMeta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("os.%s is not available in health checks (os.time, os.date, os.clock and os.difftime are)", L.ToString(2))
		return 0
	}))
	L.SetMetatable(safeOS, osMeta)
	L.SetGlobal(lua.OsLibName, safeOS)

	// The string library is also the metatable index of every string value
	// ("x"):rep(n), so it is changed in place.
	str := L.GetGlobal(lua.StringLibName).(*lua.LTable)
	str.RawSetString("dump", lua.LNil)
	str.RawSetString("rep", L.NewFunction(limitedRep))
}

func unavailable(L *lua.LState, name string) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is not available in health checks", name)
		return 0
	})
}

func limitedRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || s == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if n > maxRepBytes/len(s) {
		L.RaiseError("string.rep: result longer than %d bytes", maxRepBytes)
	}
	L.Push(lua.LString(strings.Repeat(s, n)))
	return 1
}
