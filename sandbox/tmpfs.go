package sandbox

// The private /tmp and /dev/shm of a sandbox are tmpfs, memory: bounded,
// so a copy's superuser cannot fill the host's memory through them (a
// memory cgroup, where there is one, counts their pages too).
const (
	// TmpSize bounds /tmp: sort and hash spills go to the data directory's
	// pgsql_tmp, not here; /tmp only holds what programs run from SQL write.
	TmpSize = "256m"
	// ShmSize bounds /dev/shm, where dynamic_shared_memory_type=posix puts
	// the segments of parallel queries (a few MB each with work_mem's
	// default); the main shared memory is anonymous, not here.
	ShmSize = "256m"
)
