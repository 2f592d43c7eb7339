/*
 * jail-escape: a hostile Linux program that tries to leave the root file
 * system it was given (Wombat's rootfs jail; a chroot on Linux).  The test
 * puts /marker ("JAIL MARKER") at the root of the jail and a file with the
 * same name one directory above it on the host ("HOST SECRET"), the host
 * path of that outside file in /host-path, and a character device node made
 * on the host (/hostdev, /dev/zero's numbers).  Every attempt prints one line
 * "jail: NAME: RESULT" -- the first bytes of what it read, or -ERRNO -- so the
 * test can see which file each path reached.
 *
 * The last attempts are root's ways out of a Linux chroot (a chroot is no
 * boundary for a process with CAP_SYS_CHROOT): a second chroot and `..` from
 * outside it, and its parent's /proc/PID/root.  On Linux they reach the host.
 */
#include "linux_io.h"

#define O_RDONLY 0
#define AT_FDCWD -100
#define NR_getpid (NR_BASE + 20)
#define NR_mknod (NR_BASE + 14)
#define NR_chroot (NR_BASE + 61)
#define S_IFCHR 0020000

#if defined(__mips__)
#define O_DIRECTORY 0200000
#elif defined(__arm__)
#define O_DIRECTORY 040000
#else
#define O_DIRECTORY 0200000
#endif

/* The errno values the attempts can give, by name (MIPS numbers some apart). */
static const struct {
    long num;
    const char *name;
} errnos[] = {
    { 1, "EPERM" }, { 2, "ENOENT" }, { 9, "EBADF" }, { 13, "EACCES" }, { 16, "EBUSY" },
    { 17, "EEXIST" }, { 18, "EXDEV" }, { 20, "ENOTDIR" }, { 21, "EISDIR" }, { 22, "EINVAL" },
#if defined(__mips__)
    { 89, "ENOSYS" }, { 90, "ELOOP" },
#else
    { 38, "ENOSYS" }, { 40, "ELOOP" },
#endif
};

/* A result: the number, or -NAME for an error. */
static void put_result(long v)
{
    for (unsigned i = 0; v < 0 && i < sizeof errnos / sizeof errnos[0]; i++)
        if (errnos[i].num == -v) {
            put("-");
            put(errnos[i].name);
            return;
        }
    put_num(v);
}

/* s followed by the decimal n and then tail, into buf. */
static const char *with_num(char *buf, const char *s, long n, const char *tail)
{
    char digits[24];
    int d = sizeof digits, i = 0;
    digits[--d] = 0;
    do {
        digits[--d] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (const char *p = s; *p;)
        buf[i++] = *p++;
    for (const char *p = digits + d; *p;)
        buf[i++] = *p++;
    for (const char *p = tail; *p;)
        buf[i++] = *p++;
    buf[i] = 0;
    return buf;
}

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
        put_result(fd);
        put("\n");
        return;
    }
    char buf[64];
    long n = linux_syscall3(NR_read, fd, (long)buf, sizeof buf - 1);
    linux_syscall3(NR_close, fd, 0, 0);
    if (n < 0) {
        put_result(n);
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
    put_result(v);
    put("\n");
}

static void report_link(const char *name, const char *path)
{
    char buf[128];
    long n = linux_syscall3(NR_readlink, (long)path, (long)buf, sizeof buf - 1);
    line_start(name);
    if (n < 0) {
        put_result(n);
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
        put_result(n);
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

/* Root's ways out of a chroot on Linux, each in a child (it stays outside). */
static void root_ways_out(const char *host_path)
{
    char path[320];
    long ppid = linux_syscall3(NR_getppid, 0, 0, 0);
    /* The parent runs outside the jail: its root is the host's. */
    with_num(path, "/proc/", ppid, "/root");
    int i = 0;
    while (path[i])
        i++;
    for (const char *p = host_path; *p && i < (int)sizeof path - 1;)
        path[i++] = *p++;
    path[i] = 0;
    try_open("proc-parent-root", path);

    long pid = linux_syscall3(NR_fork, 0, 0, 0);
    if (pid == 0) {
        /* chroot into a subdirectory, keep the working directory outside it,
         * walk up from there and chroot to where the walk ends. */
        report_num("chroot", linux_syscall3(NR_chroot, (long)"/tmp", 0, 0));
        for (int up = 0; up < 24; up++)
            linux_syscall3(NR_chdir, (long)"..", 0, 0);
        linux_syscall3(NR_chroot, (long)".", 0, 0);
        try_open("chroot-escape", host_path);
        linux_syscall3(NR_exit_group, 0, 0, 0);
    }
    int status = 0;
    linux_syscall3(NR_wait4, pid, (long)&status, 0);
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

    /* The directory behind a descriptor, reached by its /proc/self/fd link. */
    char path[64];
    dir = linux_syscall3(NR_open, (long)"/tmp", O_RDONLY | O_DIRECTORY, 0);
    try_open("proc-self-fd-dotdot", with_num(path, "/proc/self/fd/", dir, "/../../../marker"));
    linux_syscall3(NR_close, dir, 0, 0);

    /* A device node (the host's /dev/zero) is in the tree; and one made anew. */
    long dev = linux_syscall3(NR_open, (long)"/hostdev", O_RDONLY, 0);
    report_num("host-device-node", dev < 0 ? dev : 0);
    if (dev >= 0)
        linux_syscall3(NR_close, dev, 0, 0);
    report_num("mknod", linux_syscall3(NR_mknod, (long)"/tmp/null-node", S_IFCHR | 0666,
                                       (1 << 8) | 3));

    rename_race();
    root_ways_out(host_path);
    put("jail: done\n");
    linux_syscall3(NR_exit_group, 0, 0, 0);
    for (;;) {
    }
}
