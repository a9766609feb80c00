package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The device-mapper ioctls the guest needs to put a dm-log-writes target in
// front of the save disk, mark the log, and tear it down: what dmsetup
// does, without dmsetup. The guest is amd64: the structures are written
// little-endian, with the layout of <linux/dm-ioctl.h>.

type dmControl struct{ f *os.File }

func openDM() (*dmControl, error) {
	f, err := os.OpenFile("/dev/mapper/control", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &dmControl{f}, nil
}

func (d *dmControl) Close() error { return d.f.Close() }

// call issues one ioctl: a struct dm_ioctl for name with flags, followed by
// payload at data_start.
func (d *dmControl) call(req uintptr, name string, flags uint32, targets uint32, payload []byte) error {
	const hdr = unix.SizeofDmIoctl
	buf := make([]byte, hdr+len(payload)+64)
	le := binary.LittleEndian
	le.PutUint32(buf[0:], 4) // version 4.0.0
	le.PutUint32(buf[12:], uint32(len(buf)))
	le.PutUint32(buf[16:], hdr)
	le.PutUint32(buf[20:], targets)
	le.PutUint32(buf[28:], flags)
	if len(name) >= 128 {
		return fmt.Errorf("device-mapper name %q too long", name)
	}
	copy(buf[48:48+127], name)
	copy(buf[hdr:], payload)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), req, uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return fmt.Errorf("device-mapper ioctl %#x on %s: %w", req, name, errno)
	}
	return nil
}

// create makes device name with one target of the given type and
// parameters over [0, sectors), and activates it.
func (d *dmControl) create(name, target, params string, sectors uint64) error {
	if err := d.call(unix.DM_DEV_CREATE, name, 0, 0, nil); err != nil {
		return err
	}
	spec := make([]byte, unix.SizeofDmTargetSpec+len(params)+1)
	binary.LittleEndian.PutUint64(spec[8:], sectors)
	copy(spec[24:24+15], target)
	copy(spec[unix.SizeofDmTargetSpec:], params)
	if err := d.call(unix.DM_TABLE_LOAD, name, 0, 1, spec); err != nil {
		return err
	}
	// DM_DEV_SUSPEND without DM_SUSPEND_FLAG resumes: the loaded table
	// goes live.
	return d.call(unix.DM_DEV_SUSPEND, name, 0, 0, nil)
}

// message sends a target message ("mark NAME" for dm-log-writes).
func (d *dmControl) message(name, msg string) error {
	p := make([]byte, 8+len(msg)+1) // struct dm_target_msg: sector, then the text
	copy(p[8:], msg)
	return d.call(unix.DM_TARGET_MSG, name, 0, 0, p)
}

// remove deactivates and removes the device; dm-log-writes finishes its
// log on the way.
func (d *dmControl) remove(name string) error {
	return d.call(unix.DM_DEV_REMOVE, name, 0, 0, nil)
}

// deviceSectors is the size of a block device in 512-byte sectors.
func deviceSectors(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var size uint64
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return 0, fmt.Errorf("BLKGETSIZE64 %s: %w", path, errno)
	}
	return size / 512, nil
}
