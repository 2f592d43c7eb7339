/*
 * jail-escape: a hostile Linux program that tries to leave the root file
 * system it was given (Wombat's rootfs jail; a chroot on Linux).  The test
 * puts /marker ("JAIL MARKER") at the root of the jail and a file with the
 * same name one directory above it on the host ("HOST SECRET"), and the
 * host path of that outside file in /host-path.  Every attempt prints one
 * line "jail: NAME: RESULT" -- the first bytes of what it read, or -errno --
 * so the test can see which file each path reached.
 */
#include "linux_io.h"

#define O_RDONLY 0
#define AT_FDCWD -100

#if defined(__mips__)
#define O_DIRECTORY 0200000
#elif defined(__arm__)
#define O_DIRECTORY 040000
#else
#define O_DIRECTORY 0200000
#endif

static void line_start(const char *name)
{
    put("jail: ");
    put(name);
    put(": ");
}

/* What the descriptor reads (first line), or the error. */
static void report_fd(const char *name, long fd)
{
    line_start(name);
    if (fd < 0) {
        put_num(fd);
        put("\n");
        return;
    }
    char buf[64];
    long n = linux_syscall3(NR_read, fd, (long)buf, sizeof buf - 1);
    linux_syscall3(NR_close, fd, 0, 0);
    if (n < 0) {
        put_num(n);
        put("\n");
        return;
    }
    buf[n] = 0;
    for (long i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = 0;
    put(buf);
    put("\n");
}

static void try_open(const char *name, const char *path)
{
    report_fd(name, linux_syscall3(NR_open, (long)path, O_RDONLY, 0));
}

static void report_num(const char *name, long v)
{
    line_start(name);
    put_num(v);
    put("\n");
}

static void report_link(const char *name, const char *path)
{
    char buf[128];
    long n = linux_syscall3(NR_readlink, (long)path, (long)buf, sizeof buf - 1);
    line_start(name);
    if (n < 0) {
        put_num(n);
    } else {
        buf[n] = 0;
        put(buf);
    }
    put("\n");
}

static void report_cwd(const char *name)
{
    char buf[128];
    long n = linux_syscall3(NR_getcwd, (long)buf, sizeof buf, 0);
    line_start(name);
    if (n < 0)
        put_num(n);
    else
        put(buf);
    put("\n");
}

static void nap(void)
{
    long t[2] = { 0, 1000000 };
    linux_syscall3(NR_nanosleep, (long)t, 0, 0);
}

static void rename_race(void)
{
    linux_syscall3(NR_mkdir, (long)"/tmp/race", 0755, 0);
    linux_syscall3(NR_mkdir, (long)"/tmp/race/a", 0755, 0);
    linux_syscall3(NR_mkdir, (long)"/tmp/race/a/b", 0755, 0);
    long pid = linux_syscall3(NR_fork, 0, 0, 0);
    if (pid == 0) {
        /* The child moves b up and down while the parent walks through it. */
        for (int i = 0; i < 60; i++) {
            linux_syscall3(NR_rename, (long)"/tmp/race/a/b", (long)"/tmp/race/b", 0);
            nap();
            linux_syscall3(NR_rename, (long)"/tmp/race/b", (long)"/tmp/race/a/b", 0);
        }
        linux_syscall3(NR_exit_group, 0, 0, 0);
    }
    int host = 0, jail = 0, other = 0;
    char buf[16];
    for (int i = 0; i < 120; i++) {
        long fd = linux_syscall3(NR_open, (long)"/tmp/race/a/b/../../../../../../marker",
                                 O_RDONLY, 0);
        if (fd < 0) {
            other++;
            continue;
        }
        long n = linux_syscall3(NR_read, fd, (long)buf, 4);
        linux_syscall3(NR_close, fd, 0, 0);
        if (n == 4 && buf[0] == 'H')
            host++;
        else if (n == 4 && buf[0] == 'J')
            jail++;
        else
            other++;
    }
    int status = 0;
    linux_syscall3(NR_wait4, pid, (long)&status, 0);
    line_start("rename-race");
    put(host ? "HOST reached " : "host never reached ");
    put(jail ? "(jail marker read)\n" : "(jail marker never read)\n");
}

void _start(void)
{
    char host_path[256];
    long fd = linux_syscall3(NR_open, (long)"/host-path", O_RDONLY, 0);
    long n = fd >= 0 ? linux_syscall3(NR_read, fd, (long)host_path, sizeof host_path - 1) : 0;
    host_path[n > 0 ? n : 0] = 0;
    for (long i = 0; i < n; i++)
        if (host_path[i] == '\n')
            host_path[i] = 0;
    if (fd >= 0)
        linux_syscall3(NR_close, fd, 0, 0);

    try_open("dotdot-absolute", "/../../../../marker");
    linux_syscall3(NR_chdir, (long)"/", 0, 0);
    for (int i = 0; i < 12; i++)
        linux_syscall3(NR_chdir, (long)"..", 0, 0);
    report_cwd("chdir-up-cwd");
    try_open("chdir-up", "marker");
    linux_syscall3(NR_chdir, (long)"/tmp", 0, 0);
    try_open("dotdot-relative", "../../../../../marker");

    linux_syscall3(NR_symlink, (long)"/../../../marker", (long)"/tmp/abs-link", 0);
    try_open("symlink-absolute", "/tmp/abs-link");
    linux_syscall3(NR_symlink, (long)"../../../../../../marker", (long)"/tmp/rel-link", 0);
    try_open("symlink-relative", "/tmp/rel-link");
    try_open("host-path", host_path);
    linux_syscall3(NR_symlink, (long)host_path, (long)"/tmp/host-link", 0);
    try_open("symlink-to-host-path", "/tmp/host-link");
    report_num("hardlink-to-host-path",
               linux_syscall3(NR_link, (long)host_path, (long)"/tmp/host-hardlink", 0));

    report_link("proc-self-root", "/proc/self/root");
    try_open("proc-self-root-dotdot", "/proc/self/root/../../marker");
    try_open("proc-self-cwd-dotdot", "/proc/self/cwd/../../../marker");
    report_link("proc-self-exe", "/proc/self/exe");

    long dir = linux_syscall3(NR_open, (long)"/tmp", O_RDONLY | O_DIRECTORY, 0);
    report_fd("openat-dirfd-dotdot",
              dir < 0 ? dir : (long)linux_syscall3(NR_openat, dir,
                                                   (long)"../../../../marker", O_RDONLY));
    if (dir >= 0) {
        linux_syscall3(NR_fchdir, dir, 0, 0);
        try_open("fchdir-dotdot", "../../../marker");
        linux_syscall3(NR_close, dir, 0, 0);
    }
    report_fd("openat-absolute-ignores-dirfd",
              linux_syscall3(NR_openat, AT_FDCWD, (long)"/../marker", O_RDONLY));

    linux_syscall3(NR_mkdir, (long)"/tmp/gone", 0755, 0);
    linux_syscall3(NR_chdir, (long)"/tmp/gone", 0, 0);
    linux_syscall3(NR_rmdir, (long)"/tmp/gone", 0, 0);
    try_open("deleted-cwd-dotdot", "../../../marker");
    linux_syscall3(NR_chdir, (long)"/", 0, 0);

    rename_race();
    put("jail: done\n");
    linux_syscall3(NR_exit_group, 0, 0, 0);
    for (;;) {
    }
}
