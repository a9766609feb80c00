package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The guest: Debian's kernel, the modules the lab needs from its package,
// and an initramfs whose /init is this program built statically.

// guestModules are the modules init loads, after their dependencies.
// crc32c_generic is there because ext4's metadata checksums ask the crypto
// API for crc32c, which would otherwise need a modprobe the guest lacks.
var guestModules = []string{"virtio_pci", "virtio_blk", "crc32c_generic", "ext4", "dm_log_writes"}

// tools are the programs the host side runs, and the Debian packages that
// have them.
var tools = map[string]string{
	"qemu-system-x86_64": "qemu-system-x86",
	"mkfs.ext4":          "e2fsprogs",
	"e2fsck":             "e2fsprogs",
	"debugfs":            "e2fsprogs",
}

// missingTools lists the Debian packages of the tools not on PATH (or in
// /usr/sbin and /sbin, where e2fsprogs lives but a user's PATH may not go).
func missingTools() []string {
	var pkgs []string
	for tool, pkg := range tools {
		if _, err := lookTool(tool); err != nil && !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// ensureTools installs the missing packages with apt-get, if install is
// set and this is root; otherwise it says what to install.
func ensureTools(install bool, logf func(string, ...any)) error {
	pkgs := missingTools()
	if len(pkgs) == 0 {
		return nil
	}
	if !install || os.Geteuid() != 0 {
		return fmt.Errorf("the lab needs the Debian packages %s; install them (as root: apt-get install %s)",
			strings.Join(pkgs, " "), strings.Join(pkgs, " "))
	}
	logf("installing %s", strings.Join(pkgs, " "))
	aptInstall := func() error {
		cmd := exec.Command("apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), err, tail(out, 20))
		}
		return nil
	}
	if aptInstall() != nil {
		if out, err := exec.Command("apt-get", "update", "-q").CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get update: %v\n%s", err, tail(out, 20))
		}
		return aptInstall()
	}
	return nil
}

// kernel is an unpacked Debian kernel package.
type kernel struct {
	pkg     string // e.g. linux-image-6.1.0-56-amd64
	vmlinuz string
	modules string // the lib/modules/VERSION directory
}

// fetchKernel finds the package linux-image-amd64 depends on and, unless
// cache already holds it unpacked, downloads it with apt-get download and
// unpacks it with dpkg-deb into cache (only if download is set).
func fetchKernel(cache string, download bool, logf func(string, ...any)) (*kernel, error) {
	pkg, err := kernelPackage()
	if err != nil && download && os.Geteuid() == 0 {
		// A fresh machine may have no package lists yet.
		if out, uerr := exec.Command("apt-get", "update", "-q").CombinedOutput(); uerr != nil {
			return nil, fmt.Errorf("apt-get update: %v\n%s", uerr, tail(out, 20))
		}
		pkg, err = kernelPackage()
	}
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, pkg)
	if k, err := findKernel(pkg, dir); err == nil {
		return k, nil
	}
	if !download {
		return nil, fmt.Errorf("%s is not in the cache %s: go run ./demo/powercut -prepare downloads it", pkg, cache)
	}
	logf("downloading and unpacking %s", pkg)
	tmp, err := os.MkdirTemp(cache, "kernel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	get := exec.Command("apt-get", "download", "-q", pkg)
	get.Dir = tmp
	if out, err := get.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, tail(out, 20))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download %s left %d packages", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dpkg-deb -x: %v\n%s", err, tail(out, 20))
	}
	if err := os.Rename(root, dir); err != nil {
		// Another lab unpacked it first, or a broken unpacking is in the
		// way: use what is there if it is whole, else replace it.
		if k, ferr := findKernel(pkg, dir); ferr == nil {
			return k, nil
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.Rename(root, dir); err != nil {
			return nil, err
		}
	}
	return findKernel(pkg, dir)
}

// kernelPackage asks apt which versioned image linux-image-amd64 means.
func kernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: %v\n%s", err, tail(out, 5))
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("apt-cache depends linux-image-amd64 names no kernel image:\n%s", tail(out, 10))
}

func findKernel(pkg, dir string) (*kernel, error) {
	vm, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	mods, _ := filepath.Glob(filepath.Join(dir, "lib", "modules", "*"))
	if len(vm) != 1 || len(mods) != 1 {
		return nil, fmt.Errorf("%s: no unpacked kernel", dir)
	}
	return &kernel{pkg: pkg, vmlinuz: vm[0], modules: mods[0]}, nil
}

// resolveModules returns the .ko files for want and everything they depend
// on (read from each module's .modinfo "depends="), dependencies first.
func resolveModules(modDir string, want []string) ([]string, error) {
	index := map[string]string{} // module name -> path
	err := filepath.WalkDir(modDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			index[modName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, from string) error
	visit = func(name, from string) error {
		name = modName(name)
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", name)
		case 2:
			return nil
		}
		p, ok := index[name]
		if !ok {
			return fmt.Errorf("module %s (needed by %s) is not in %s", name, from, modDir)
		}
		state[name] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, p)
		return nil
	}
	for _, w := range want {
		if err := visit(w, "the lab"); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("%s: no .modinfo", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

// buildInit provides this program, statically linked, as the guest's
// init: the running executable if it is one (it usually is: it needs no
// cgo), else a build of the package.
func buildInit(out string) error {
	if self, err := os.Executable(); err == nil && isStaticAMD64(self) && !strings.HasSuffix(self, ".test") {
		return copyFile(self, out)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the lab builds its guest with the go command, which is not on PATH")
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", out, "github.com/savekit/savekit/demo/powercut")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the guest's init: %v\n%s", err, o)
	}
	return nil
}

// isStaticAMD64 reports whether path is an x86-64 ELF executable with no
// dynamic loader: one that runs as PID 1 of an initramfs with no libc.
func isStaticAMD64(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return false
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// guestFiles is what the lab boots.
type guestFiles struct {
	kernel    *kernel
	initramfs string
}

// buildGuest makes (or, with download set, fetches) the kernel in cache
// and writes a fresh initramfs into work.
func buildGuest(cache, work string, download bool, logf func(string, ...any)) (*guestFiles, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	k, err := fetchKernel(cache, download, logf)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	mods, err := resolveModules(k.modules, guestModules)
	if err != nil {
		return nil, err
	}
	initPath := filepath.Join(work, "init")
	if err := buildInit(initPath); err != nil {
		return nil, err
	}
	initBin, err := os.ReadFile(initPath)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	c := newCpio(&buf)
	for _, d := range []string{"dev", "proc", "sys", "mnt", "modules"} {
		c.dir(d)
	}
	c.char("dev/console", 5, 1)
	c.file("init", initBin)
	var order []string
	for i, p := range mods {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("modules/%02d-%s", i, filepath.Base(p))
		c.file(name, data)
		order = append(order, "/"+name)
	}
	c.file("modules/order", []byte(strings.Join(order, "\n")+"\n"))
	if err := c.close(); err != nil {
		return nil, err
	}
	initramfs := filepath.Join(work, "initramfs.cpio")
	if err := os.WriteFile(initramfs, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	logf("guest: %s, %d modules, initramfs %d KiB written in %s", k.pkg, len(mods), buf.Len()/1024, time.Since(start).Round(time.Millisecond))
	return &guestFiles{kernel: k, initramfs: initramfs}, nil
}

// tail is the last n lines of out, for error messages.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
