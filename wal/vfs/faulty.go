package vfs

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// ErrInjected is the error a Faulty file system returns for an injected I/O
// failure that is not a full disk.
var ErrInjected = errors.New("vfs: injected I/O error")

// Faulty wraps a file system and fails or delays operations on demand. It is
// safe for concurrent use; its knobs can be turned while the code under test
// runs.
//
// Disk-full is modelled as a byte budget: once SetSpace has been called, every
// write consumes budget, a write larger than what is left writes the part that
// fits and then fails with ENOSPC (like a real file system), and the budget is
// given back when files are removed or truncated.
type Faulty struct {
	inner FS

	mu        sync.Mutex
	limited   bool
	space     int64         // bytes left when limited
	syncDelay time.Duration // added to every Sync
	syncGate  chan struct{} // when set, Sync waits until it is closed
	waiting   int           // Syncs waiting at the gate
	failSync  bool          // Sync returns ErrInjected
	failWrite bool          // writes return ErrInjected
	writes    int64         // successful write calls, for tests
	syncs     int64         // successful Sync calls, for tests
}

// NewFaulty returns a Faulty file system over inner with no faults enabled.
func NewFaulty(inner FS) *Faulty { return &Faulty{inner: inner} }

// SetSpace limits the bytes that can still be written. A negative value
// removes the limit.
func (f *Faulty) SetSpace(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited = n >= 0
	f.space = n
}

// SetSyncDelay makes every Sync take at least d.
func (f *Faulty) SetSyncDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncDelay = d
}

// HoldSyncs makes every Sync wait, before it reaches the disk, until the
// returned function is called: a disk whose fsync takes as long as the test
// wants, so that tests can prove what does not wait for a sync by ordering
// instead of by timing. Calling the function again has no effect.
func (f *Faulty) HoldSyncs() (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.syncGate = gate
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			if f.syncGate == gate {
				f.syncGate = nil
			}
			f.mu.Unlock()
			close(gate)
		})
	}
}

// SyncsWaiting returns how many Sync calls are held by HoldSyncs right now.
func (f *Faulty) SyncsWaiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting
}

// SetFailSync makes Sync fail with ErrInjected while on is true.
func (f *Faulty) SetFailSync(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failSync = on
}

// SetFailWrite makes writes fail with ErrInjected while on is true.
func (f *Faulty) SetFailWrite(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWrite = on
}

// Syncs returns how many Sync calls succeeded.
func (f *Faulty) Syncs() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

// reserve takes up to n bytes of budget and returns how many may be written
// and the error to report for the rest.
func (f *Faulty) reserve(n int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite {
		return 0, ErrInjected
	}
	if !f.limited || int64(n) <= f.space {
		if f.limited {
			f.space -= int64(n)
		}
		f.writes++
		return n, nil
	}
	ok := int(f.space)
	f.space = 0
	return ok, syscall.ENOSPC
}

func (f *Faulty) release(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limited && n > 0 {
		f.space += n
	}
}

func (f *Faulty) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if flag&(os.O_CREATE|os.O_WRONLY|os.O_RDWR) != 0 {
		f.mu.Lock()
		fail := f.failWrite
		f.mu.Unlock()
		if fail {
			return nil, &os.PathError{Op: "open", Path: name, Err: ErrInjected}
		}
	}
	inner, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: inner, fs: f}, nil
}

func (f *Faulty) Remove(name string) error {
	st, statErr := f.inner.Stat(name)
	if err := f.inner.Remove(name); err != nil {
		return err
	}
	if statErr == nil && !st.IsDir() {
		f.release(st.Size())
	}
	return nil
}

func (f *Faulty) Rename(oldpath, newpath string) error       { return f.inner.Rename(oldpath, newpath) }
func (f *Faulty) ReadDir(name string) ([]os.DirEntry, error) { return f.inner.ReadDir(name) }
func (f *Faulty) MkdirAll(path string, perm os.FileMode) error {
	return f.inner.MkdirAll(path, perm)
}
func (f *Faulty) Stat(name string) (os.FileInfo, error) { return f.inner.Stat(name) }

// SyncDir is slowed, held and failed like Sync: it is an fsync too.
func (f *Faulty) SyncDir(path string) error {
	if err := f.beforeSync(path); err != nil {
		return err
	}
	return f.inner.SyncDir(path)
}

// beforeSync applies the sync delay and gate, and returns the injected
// failure if there is one.
func (f *Faulty) beforeSync(path string) error {
	f.mu.Lock()
	delay, gate := f.syncDelay, f.syncGate
	if gate != nil {
		f.waiting++
	}
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if gate != nil {
		<-gate
		f.mu.Lock()
		f.waiting--
		f.mu.Unlock()
	}
	f.mu.Lock()
	fail := f.failSync
	f.mu.Unlock()
	if fail {
		return &os.PathError{Op: "sync", Path: path, Err: ErrInjected}
	}
	return nil
}

type faultyFile struct {
	File
	fs *Faulty
}

func (f *faultyFile) Write(p []byte) (int, error) {
	ok, ferr := f.fs.reserve(len(p))
	n, err := f.File.Write(p[:ok])
	if err != nil {
		return n, err
	}
	if ferr != nil {
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: ferr}
	}
	return n, nil
}

func (f *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	ok, ferr := f.fs.reserve(len(p))
	n, err := f.File.WriteAt(p[:ok], off)
	if err != nil {
		return n, err
	}
	if ferr != nil {
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: ferr}
	}
	return n, nil
}

func (f *faultyFile) Truncate(size int64) error {
	st, statErr := f.File.Stat()
	if err := f.File.Truncate(size); err != nil {
		return err
	}
	if statErr == nil && st.Size() > size {
		f.fs.release(st.Size() - size)
	}
	return nil
}

func (f *faultyFile) Sync() error {
	if err := f.fs.beforeSync(f.Name()); err != nil {
		return err
	}
	if err := f.File.Sync(); err != nil {
		return err
	}
	f.fs.mu.Lock()
	f.fs.syncs++
	f.fs.mu.Unlock()
	return nil
}
