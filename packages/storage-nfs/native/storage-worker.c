/*
 * hb-storage-worker: the storage worker hbd keeps alive, one per pool (DESIGN rule 1: no storage
 * I/O in the deciding process). It does what src/worker-child.ts does for the operations of a
 * heartbeat, `write` (with its read-back, record and sweep) and `scan`, with the same requests,
 * replies, steps, checks and messages: one JSON request per line on stdin, one JSON reply per
 * line on stdout, until the end of its input. It keeps nothing between requests: each one
 * opens, writes, fsyncs and closes, so a stale handle or a remount shows on the next one.
 *
 * Native rather than Node: 64 idle Node processes hold about 500 MB; this one, built against
 * musl, about 90 KiB each. It never starts a program, so its descriptors need no O_CLOEXEC
 * (musl adds an fcntl to each open that asks for it). The shared test table (src/worker-table.test.ts) runs every case against both.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (64 * 1024)
#define HEAD_BYTES 4096

/* ---- a growing byte buffer: replies, paths, messages ---- */

typedef struct {
  char *data;
  size_t len, cap;
} Buf;

static void buf_grow(Buf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap == 0 ? 256 : b->cap;
  while (b->len + more + 1 > cap) cap *= 2;
  char *data = realloc(b->data, cap);
  if (data == NULL) _exit(70); /* out of memory: the parent sees the exit and starts another */
  b->data = data;
  b->cap = cap;
}

static void buf_add(Buf *b, const char *bytes, size_t n) {
  buf_grow(b, n);
  memcpy(b->data + b->len, bytes, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fmt(Buf *b, const char *format, ...) {
  va_list args;
  va_start(args, format);
  char small[256];
  int n = vsnprintf(small, sizeof small, format, args);
  va_end(args);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    buf_add(b, small, (size_t)n);
    return;
  }
  buf_grow(b, (size_t)n);
  va_start(args, format);
  vsnprintf(b->data + b->len, (size_t)n + 1, format, args);
  va_end(args);
  b->len += (size_t)n;
}

static void buf_free(Buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* A JSON string. latin1: every byte is one character (a heartbeat's text, as Node's "latin1"). */
static void json_string(Buf *b, const char *s, size_t n, int latin1) {
  buf_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      buf_add(b, e, 2);
    } else if (c == '\n') {
      buf_add(b, "\\n", 2);
    } else if (c < 0x20 || c == 0x7f || (latin1 && c >= 0x80)) {
      buf_fmt(b, "\\u%04x", c);
    } else {
      buf_add(b, (const char *)&c, 1);
    }
  }
  buf_add(b, "\"", 1);
}

static void json_key(Buf *b, const char *key) {
  if (b->len > 1) buf_add(b, ",", 1);
  json_string(b, key, strlen(key), 0);
  buf_add(b, ":", 1);
}

static void json_field_str(Buf *b, const char *key, const char *value) {
  json_key(b, key);
  json_string(b, value, strlen(value), 0);
}

/* ---- errors: code and message as Node's fs gives them ("EIO: i/o error, fsync") ---- */

typedef struct {
  char code[32];
  Buf message;
  const char *kind; /* a planted non-file, in words; NULL otherwise */
} Failure;

/* The errno's name and libuv's words for it, as Node's fs errors carry them ("EIO: i/o error"). */
static const struct {
  int number;
  const char *name, *words;
} ERRNOS[] = {
    {EACCES, "EACCES", "permission denied"},
    {EAGAIN, "EAGAIN", "resource temporarily unavailable"},
    {EBADF, "EBADF", "bad file descriptor"},
    {EBUSY, "EBUSY", "resource busy or locked"},
    {EDQUOT, "EDQUOT", "disk quota exceeded"},
    {EEXIST, "EEXIST", "file already exists"},
    {EFAULT, "EFAULT", "bad address in system call argument"},
    {EFBIG, "EFBIG", "file too large"},
    {EINTR, "EINTR", "interrupted system call"},
    {EINVAL, "EINVAL", "invalid argument"},
    {EIO, "EIO", "i/o error"},
    {EISDIR, "EISDIR", "illegal operation on a directory"},
    {ELOOP, "ELOOP", "too many symbolic links encountered"},
    {EMFILE, "EMFILE", "too many open files"},
    {EMLINK, "EMLINK", "too many links"},
    {ENAMETOOLONG, "ENAMETOOLONG", "name too long"},
    {ENFILE, "ENFILE", "file table overflow"},
    {ENODEV, "ENODEV", "no such device"},
    {ENOENT, "ENOENT", "no such file or directory"},
    {ENOLCK, "ENOLCK", "no locks available"},
    {ENOMEM, "ENOMEM", "not enough memory"},
    {ENOSPC, "ENOSPC", "no space left on device"},
    {ENOSYS, "ENOSYS", "function not implemented"},
    {ENOTCONN, "ENOTCONN", "socket is not connected"},
    {ENOTDIR, "ENOTDIR", "not a directory"},
    {ENOTEMPTY, "ENOTEMPTY", "directory not empty"},
    {ENOTSUP, "ENOTSUP", "operation not supported on socket"},
    {ENXIO, "ENXIO", "no such device or address"},
    {EOVERFLOW, "EOVERFLOW", "value too large for defined data type"},
    {EPERM, "EPERM", "operation not permitted"},
    {EPIPE, "EPIPE", "broken pipe"},
    {EROFS, "EROFS", "read-only file system"},
    {ESPIPE, "ESPIPE", "invalid seek"},
    {ESRCH, "ESRCH", "no such process"},
    {ESTALE, "ESTALE", "stale file handle"},
    {ETIMEDOUT, "ETIMEDOUT", "connection timed out"},
    {ETXTBSY, "ETXTBSY", "text file is busy"},
    {EXDEV, "EXDEV", "cross-device link not permitted"},
    {ECONNREFUSED, "ECONNREFUSED", "connection refused"},
    {ECONNRESET, "ECONNRESET", "connection reset by peer"},
    {EHOSTUNREACH, "EHOSTUNREACH", "host is unreachable"},
    {ENETUNREACH, "ENETUNREACH", "network is unreachable"},
    {EREMOTEIO, "EREMOTEIO", "remote I/O error"},
    {ENOTBLK, "ENOTBLK", "block device required"},
    {ECANCELED, "ECANCELED", "operation canceled"},
};

static void errno_text(int error, const char **name, const char **words) {
  static char unknown_name[32], unknown_words[48];
  for (size_t i = 0; i < sizeof ERRNOS / sizeof ERRNOS[0]; i++) {
    if (ERRNOS[i].number == error) {
      *name = ERRNOS[i].name;
      *words = ERRNOS[i].words;
      return;
    }
  }
  snprintf(unknown_name, sizeof unknown_name, "E%d", error);
  snprintf(unknown_words, sizeof unknown_words, "unknown system error %d", error);
  *name = unknown_name;
  *words = unknown_words;
}

static void fail_named(Failure *f, const char *code, const char *format, ...) {
  snprintf(f->code, sizeof f->code, "%s", code);
  f->message.len = 0;
  buf_grow(&f->message, 0);
  f->message.data[0] = '\0';
  char text[8192];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  buf_str(&f->message, text);
}

static void fail_sys(Failure *f, int error, const char *syscall, const char *path, const char *dest) {
  const char *name, *words;
  errno_text(error, &name, &words);
  if (dest != NULL) fail_named(f, name, "%s: %s, %s '%s' -> '%s'", name, words, syscall, path, dest);
  else if (path != NULL) fail_named(f, name, "%s: %s, %s '%s'", name, words, syscall, path);
  else fail_named(f, name, "%s: %s, %s", name, words, syscall);
  f->kind = NULL;
}

static const char *kind_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISDIR(mode)) return "folder";
  if (S_ISLNK(mode)) return "symbolic link";
  return "special file";
}

/* ---- the request: one flat JSON object ---- */

typedef struct {
  char *op, *folder, *host, *content, *mount_point, *record_text, *nfs_mounts_file;
  int has_record_seq;
  double record_seq;
  int sweep; /* 0 never, 1 always, 2 after-create */
  int read_back;
  int has_extras_within;
  double extras_within_ms;
} Request;

typedef struct {
  const char *p, *end;
  int depth;
} Json;

static void skip_blank(Json *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static void put_utf8(Buf *b, unsigned cp) {
  char out[4];
  size_t n;
  if (cp < 0x80) out[0] = (char)cp, n = 1;
  else if (cp < 0x800) out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000) out[0] = (char)(0xe0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), out[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
  else out[0] = (char)(0xf0 | cp >> 18), out[1] = (char)(0x80 | ((cp >> 12) & 0x3f)), out[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), out[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
  buf_add(b, out, n);
}

static int hex4(const char *p, unsigned *value) {
  *value = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    unsigned digit = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
    if (digit == 16) return 0;
    *value = *value * 16 + digit;
  }
  return 1;
}

/* A JSON string into out (UTF-8; a lone surrogate becomes U+FFFD, as Node's fs encodes it). */
static int parse_string(Json *j, Buf *out) {
  if (j->p >= j->end || *j->p != '"') return 0;
  j->p++;
  while (j->p < j->end) {
    unsigned char c = (unsigned char)*j->p++;
    if (c == '"') return 1;
    if (c < 0x20) return 0;
    if (c != '\\') {
      if (out != NULL) buf_add(out, (const char *)&c, 1);
      continue;
    }
    if (j->p >= j->end) return 0;
    char e = *j->p++;
    unsigned cp;
    switch (e) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        if (j->end - j->p < 4 || !hex4(j->p, &cp)) return 0;
        j->p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          unsigned low;
          if (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' && hex4(j->p + 2, &low) && low >= 0xdc00 && low <= 0xdfff) {
            j->p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else {
            cp = 0xfffd;
          }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          cp = 0xfffd;
        }
        break;
      default: return 0;
    }
    if (out != NULL) put_utf8(out, cp);
  }
  return 0;
}

static int parse_number(Json *j, double *value) {
  const char *start = j->p;
  if (j->p < j->end && *j->p == '-') j->p++;
  if (j->p >= j->end) return 0;
  if (*j->p == '0') j->p++;
  else if (*j->p >= '1' && *j->p <= '9') while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
  else return 0;
  if (j->p < j->end && *j->p == '.') {
    j->p++;
    if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) return 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
  }
  if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
    j->p++;
    if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
    if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) return 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
  }
  char text[64];
  size_t n = (size_t)(j->p - start);
  if (n >= sizeof text) n = sizeof text - 1;
  memcpy(text, start, n);
  text[n] = '\0';
  *value = strtod(text, NULL);
  return 1;
}

static int literal(Json *j, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return 0;
  j->p += n;
  return 1;
}

/* Any JSON value, checked and skipped (the nesting is bounded: a hostile record is not parsed further). */
static int skip_value(Json *j) {
  skip_blank(j);
  if (j->p >= j->end) return 0;
  double ignored;
  switch (*j->p) {
    case '"': return parse_string(j, NULL);
    case 't': return literal(j, "true");
    case 'f': return literal(j, "false");
    case 'n': return literal(j, "null");
    case '[':
    case '{': {
      char close = *j->p == '[' ? ']' : '}';
      int object = close == '}';
      if (++j->depth > 256) return 0;
      j->p++;
      skip_blank(j);
      if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 1;
      }
      for (;;) {
        skip_blank(j);
        if (object) {
          if (!parse_string(j, NULL)) return 0;
          skip_blank(j);
          if (j->p >= j->end || *j->p++ != ':') return 0;
        }
        if (!skip_value(j)) return 0;
        skip_blank(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') {
          j->p++;
          continue;
        }
        if (*j->p++ != close) return 0;
        j->depth--;
        return 1;
      }
    }
    default: return parse_number(j, &ignored);
  }
}

/* Calls visit(key, j) for every member of a top-level object; visit consumes the value. */
static int each_member(Json *j, int (*visit)(const char *key, Json *j, void *state), void *state) {
  skip_blank(j);
  if (j->p >= j->end || *j->p++ != '{') return 0;
  skip_blank(j);
  if (j->p < j->end && *j->p == '}') {
    j->p++;
  } else {
    for (;;) {
      Buf key = {0};
      skip_blank(j);
      if (!parse_string(j, &key)) return buf_free(&key), 0;
      skip_blank(j);
      if (j->p >= j->end || *j->p++ != ':') return buf_free(&key), 0;
      skip_blank(j);
      int ok = visit(key.data == NULL ? "" : key.data, j, state);
      buf_free(&key);
      if (!ok) return 0;
      skip_blank(j);
      if (j->p >= j->end) return 0;
      if (*j->p == ',') {
        j->p++;
        continue;
      }
      if (*j->p++ != '}') return 0;
      break;
    }
  }
  skip_blank(j);
  return j->p == j->end;
}

/* A string field without NUL bytes (a path cannot hold one); NULL for JSON null. */
static int take_string(Json *j, char **into) {
  if (literal(j, "null")) {
    free(*into);
    *into = NULL;
    return 1;
  }
  Buf value = {0};
  if (!parse_string(j, &value)) return buf_free(&value), 0;
  buf_grow(&value, 0);
  if (strlen(value.data) != value.len) return buf_free(&value), 0;
  free(*into);
  *into = value.data;
  return 1;
}

static int visit_request(const char *key, Json *j, void *state) {
  Request *r = state;
  if (strcmp(key, "op") == 0) return take_string(j, &r->op);
  if (strcmp(key, "folder") == 0) return take_string(j, &r->folder);
  if (strcmp(key, "host") == 0) return take_string(j, &r->host);
  if (strcmp(key, "content") == 0) return take_string(j, &r->content);
  if (strcmp(key, "mountPoint") == 0) return take_string(j, &r->mount_point);
  if (strcmp(key, "recordText") == 0) return take_string(j, &r->record_text);
  if (strcmp(key, "nfsMountsFile") == 0) return take_string(j, &r->nfs_mounts_file);
  if (strcmp(key, "recordSeq") == 0) return r->has_record_seq = 1, parse_number(j, &r->record_seq);
  if (strcmp(key, "extrasWithinMs") == 0) return r->has_extras_within = 1, parse_number(j, &r->extras_within_ms);
  if (strcmp(key, "readBack") == 0) {
    if (literal(j, "true")) return r->read_back = 1, 1;
    return skip_value(j);
  }
  if (strcmp(key, "sweep") == 0) {
    if (literal(j, "true")) return r->sweep = 1, 1;
    if (literal(j, "false")) return r->sweep = 0, 1;
    Buf value = {0};
    if (!parse_string(j, &value)) return buf_free(&value), 0;
    r->sweep = value.data != NULL && strcmp(value.data, "after-create") == 0 ? 2 : 0;
    buf_free(&value);
    return 1;
  }
  return skip_value(j);
}

static void request_free(Request *r) {
  free(r->op);
  free(r->folder);
  free(r->host);
  free(r->content);
  free(r->mount_point);
  free(r->record_text);
  free(r->nfs_mounts_file);
  memset(r, 0, sizeof *r);
}

/* ---- the operations ---- */

static struct timespec started;

static long elapsed_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double ms = (double)(now.tv_sec - started.tv_sec) * 1e3 + (double)(now.tv_nsec - started.tv_nsec) / 1e6;
  return (long)(ms + 0.5); /* Math.round of a non-negative duration */
}

typedef struct {
  const char *step;
  Buf steps; /* "name":ms,… */
} Progress;

static void mark_step(Progress *p, const char *next) {
  if (p->steps.len > 0) buf_add(&p->steps, ",", 1);
  json_string(&p->steps, p->step, strlen(p->step), 0);
  buf_fmt(&p->steps, ":%ld", elapsed_ms());
  p->step = next;
}

static void join(Buf *out, const char *folder, const char *name) {
  out->len = 0;
  buf_str(out, folder);
  if (out->len == 0 || out->data[out->len - 1] != '/') buf_add(out, "/", 1);
  buf_str(out, name);
}

static void parent_of(Buf *out, const char *path) {
  out->len = 0;
  const char *slash = strrchr(path, '/');
  if (slash == NULL) buf_str(out, ".");
  else if (slash == path) buf_str(out, "/");
  else buf_add(out, path, (size_t)(slash - path));
}

static int stat_device(const char *mount_point, dev_t *device, Failure *f) {
  struct stat st;
  if (stat(mount_point, &st) != 0) return fail_sys(f, errno, "stat", mount_point, NULL), 0;
  *device = st.st_dev;
  return 1;
}

/* A field of a mount table, its octal escapes (\040: a blank) decoded in place. */
static void unescape_mount_field(char *field) {
  char *in = field, *out = field;
  while (*in != '\0') {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
      *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 4;
    } else {
      *out++ = *in++;
    }
  }
  *out = '\0';
}

/*
 * Calls `line` for every line of `fd` (the last one without its newline too), read in chunks: a
 * host may have thousands of mounts. A line longer than the buffer is no mount hb looks for:
 * dropped. 1 when all was read; 0 on a read error or past `max` bytes, with `f` saying which.
 */
static int each_line(int fd, size_t max, const char *file, void (*line)(char *, void *), void *state, Failure *f) {
  static char chunk[64 * 1024 + 1];
  size_t have = 0, total = 0;
  for (;;) {
    ssize_t n = read(fd, chunk + have, sizeof chunk - 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_sys(f, errno, "read", NULL, NULL), 0;
    total += (size_t)n;
    if (total > max) return fail_named(f, "EFBIG", "%s is larger than %zu bytes: not read", file, max), 0;
    have += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (chunk[i] != '\n') continue;
      chunk[i] = '\0';
      line(chunk + start, state);
      start = i + 1;
    }
    if (n == 0) {
      chunk[have] = '\0';
      if (have > start) line(chunk + start, state);
      return 1;
    }
    if (start == 0 && have == sizeof chunk - 1) start = have;
    memmove(chunk, chunk + start, have - start);
    have -= start;
  }
}

typedef struct {
  const char *mount_point;
  dev_t device;
  int found;
} MountSearch;

/* One line of /proc/self/mountinfo: the device of the mount point when the line is its mount. */
static void mountinfo_line(char *line, void *state) {
  MountSearch *search = state;
  char *fields[5] = {0};
  char *save = NULL;
  char *token = strtok_r(line, " ", &save);
  for (int i = 0; i < 5 && token != NULL; i++) {
    fields[i] = token;
    token = strtok_r(NULL, " ", &save);
  }
  if (fields[4] == NULL || fields[2] == NULL) return;
  unescape_mount_field(fields[4]);
  if (strcmp(fields[4], search->mount_point) != 0) return;
  unsigned major_number, minor_number;
  if (sscanf(fields[2], "%u:%u", &major_number, &minor_number) != 2) return;
  search->device = makedev(major_number, minor_number);
  search->found = 1;
}

/*
 * The mount point's device from /proc/self/mountinfo (procfs: no storage round trip; the last
 * mount there wins, as the kernel lists the topmost last); a stat of it where it is no mount of
 * its own, or where procfs cannot be read.
 */
static int mount_device(const char *mount_point, dev_t *device, Failure *f) {
  int fd = open("/proc/self/mountinfo", O_RDONLY);
  if (fd < 0) return stat_device(mount_point, device, f);
  MountSearch search = {mount_point, 0, 0};
  Failure unread = {0};
  int read_all = each_line(fd, SIZE_MAX, "/proc/self/mountinfo", mountinfo_line, &search, &unread);
  close(fd);
  buf_free(&unread.message);
  if (!read_all || !search.found) return stat_device(mount_point, device, f);
  *device = search.device;
  return 1;
}

#define MOUNT_TABLE_MAX_BYTES (16 * 1024 * 1024)

static int is_nfs_type(const char *type) {
  return strcmp(type, "nfs") == 0 || strcmp(type, "nfs4") == 0 || (strncmp(type, "fuse.", 5) == 0 && strstr(type, "nfs") != NULL);
}

/* One line of an fstab-format table (/proc/self/mounts): whether it mounts NFS at the mount point. */
static void nfs_mount_line(char *line, void *state) {
  MountSearch *search = state;
  char *fields[4] = {0};
  int count = 0;
  for (char *c = line; *c != '\0' && count < 4;) {
    while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\v' || *c == '\f') c++;
    if (*c == '\0') break;
    fields[count++] = c;
    while (*c != '\0' && *c != ' ' && *c != '\t' && *c != '\r' && *c != '\v' && *c != '\f') c++;
    if (*c != '\0') *c++ = '\0';
  }
  if (count < 4 || fields[0][0] == '#') return;
  unescape_mount_field(fields[1]);
  if (strcmp(fields[1], search->mount_point) == 0 && is_nfs_type(fields[2])) search->found = 1;
}

static int open_regular(const char *file, int follow, struct stat *st, Failure *f);

/*
 * hb.mounts.file, checked right before the write: the pool must be an NFS mount at exactly its
 * path, or the heartbeat would land on the local disk under the mount point, a false success.
 * Links are followed (/proc/self/mounts is one); anything but a regular file is refused, not
 * waited on; more than 16 MiB is not a mount table.
 */
static int check_nfs_mount(const char *table, const char *mount_point, Failure *f) {
  struct stat st;
  MountSearch search = {mount_point, 0, 0};
  int fd = open_regular(table, 1, &st, f);
  if (fd >= 0) {
    int read_all = each_line(fd, MOUNT_TABLE_MAX_BYTES, table, nfs_mount_line, &search, f);
    close(fd);
    if (read_all && search.found) return 1;
    if (read_all) return fail_named(f, "ENOTNFS", "%s is not an NFS mount (per %s): not written, it would land on the local disk", mount_point, table), 0;
  }
  /* The table could not be read: hb cannot tell whether the pool is mounted. */
  char code[sizeof f->code];
  memcpy(code, f->code, sizeof code);
  Buf why = {0};
  buf_fmt(&why, "cannot read the mount table %s: %s", table, f->message.data);
  fail_named(f, code, "%s", why.data);
  buf_free(&why);
  return 0;
}

/* A heartbeat lands only on the pool's own filesystem: KVMHA (or the file) must not lead off the mount. */
static int check_place(const struct stat *st, const char *file, const char *mount_point, const char *folder, Failure *f) {
  dev_t expected;
  if (!mount_device(mount_point, &expected, f)) return 0;
  if (st->st_dev == expected) return 1;
  dev_t own;
  if (!stat_device(mount_point, &own, f)) return 0;
  if (st->st_dev == own) return 1;
  Buf leads = {0};
  buf_fmt(&leads, "%s is on another filesystem than the mount point %s", file, mount_point);
  struct stat link;
  if (lstat(folder, &link) == 0 && S_ISLNK(link.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(folder, target, sizeof target - 1);
    if (n >= 0) {
      target[n] = '\0';
      leads.len = 0;
      buf_fmt(&leads, "%s is a symbolic link to %s, off the mount point %s", folder, target, mount_point);
    }
  }
  fail_named(f, "EXDEV", "%s (device %llu, the mount point's %llu): not written there", leads.data, (unsigned long long)st->st_dev, (unsigned long long)expected);
  buf_free(&leads);
  return 0;
}

static int write_all(int fd, const char *text, size_t n, Failure *f) {
  ssize_t written = pwrite(fd, text, n, 0);
  if (written < 0) return fail_sys(f, errno, "write", NULL, NULL), 0;
  if ((size_t)written != n) return fail_named(f, "EIO", "short write: %zd of %zu bytes", written, n), 0;
  return 1;
}

typedef struct {
  Buf target, temporary, folder_path;
  const char *mount_point;
} Place;

/* Once the file exists, rewrite it in place at the same size: no new block, no new inode. */
static int rewrite_in_place(const Request *r, Place *place, int fd, Progress *p, dev_t *device, Failure *f) {
  int ok = 0;
  struct stat st;
  mark_step(p, "check");
  if (fstat(fd, &st) != 0) {
    fail_sys(f, errno, "fstat", NULL, NULL);
  } else if (!S_ISREG(st.st_mode)) {
    fail_named(f, "EFTYPE", "%s is a %s, not a regular file", place->target.data, kind_name(st.st_mode));
  } else if (check_place(&st, place->target.data, place->mount_point, r->folder, f)) {
    size_t n = strlen(r->content);
    mark_step(p, "write");
    if (write_all(fd, r->content, n, f)) {
      int cut = 1;
      if ((size_t)st.st_size > n) {
        mark_step(p, "truncate");
        if (ftruncate(fd, (off_t)n) != 0) cut = 0, fail_sys(f, errno, "ftruncate", NULL, NULL);
      }
      if (cut) {
        mark_step(p, "fsync");
        if (fsync(fd) != 0) fail_sys(f, errno, "fsync", NULL, NULL);
        else ok = 1, *device = st.st_dev;
      }
    }
  }
  const char *closing = p->step;
  p->step = "close";
  if (close(fd) != 0) return fail_sys(f, errno, "close", NULL, NULL), 0;
  p->step = closing;
  return ok;
}

static pid_t own_pid;

/* Temporary names carry the writer's pid, so a sweep can tell a dead writer's leftover from a live one's. */
static void unique_suffix(Buf *out) {
  uint32_t random = 0;
  if (getrandom(&random, sizeof random, GRND_NONBLOCK) != sizeof random) random = (uint32_t)(started.tv_nsec ^ own_pid);
  buf_fmt(out, "%d.%x.tmp", (int)own_pid, random);
}

/* First write: a temporary file beside it, fsync, rename, fsync of the folder: no reader sees a partial first heartbeat. */
static int create_first(const Request *r, Place *place, Progress *p, dev_t *device, Failure *f) {
  p->step = "mkdir";
  if (mkdir(r->folder, 0777) != 0 && errno != EEXIST) return fail_sys(f, errno, "mkdir", r->folder, NULL), 0;
  mark_step(p, "create");
  /* A new, unguessable name, created exclusively: nothing planted can be followed or waited on. */
  Buf name = {0};
  buf_fmt(&name, ".hb-%s.", r->host);
  unique_suffix(&name);
  join(&place->temporary, r->folder, name.data);
  buf_free(&name);
  int fd = open(place->temporary.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
  if (fd < 0) return fail_sys(f, errno, "open", place->temporary.data, NULL), 0;
  int ok = 0;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail_sys(f, errno, "fstat", NULL, NULL);
  } else if (check_place(&st, place->target.data, place->mount_point, r->folder, f)) {
    *device = st.st_dev;
    mark_step(p, "write");
    if (write_all(fd, r->content, strlen(r->content), f)) {
      mark_step(p, "fsync");
      if (fsync(fd) != 0) fail_sys(f, errno, "fsync", NULL, NULL);
      else ok = 1, mark_step(p, "close");
    }
  }
  if (close(fd) != 0) return fail_sys(f, errno, "close", NULL, NULL), 0;
  if (!ok) return 0;
  mark_step(p, "rename");
  if (rename(place->temporary.data, place->target.data) != 0) return fail_sys(f, errno, "rename", place->temporary.data, place->target.data), 0;
  mark_step(p, "fsync-folder");
  /* O_DIRECTORY: only a folder opens (the one just written into); a FIFO there cannot hold the open. */
  int folder = open(r->folder, O_RDONLY | O_DIRECTORY);
  if (folder < 0) return fail_sys(f, errno, "open", r->folder, NULL), 0;
  /* Some filesystems cannot fsync a directory; the rename is then as durable as they make it. */
  if (fsync(folder) != 0 && errno != EINVAL) {
    fail_sys(f, errno, "fsync", NULL, NULL);
    close(folder);
    return 0;
  }
  if (close(folder) != 0) return fail_sys(f, errno, "close", NULL, NULL), 0;
  return 1;
}

/* The existing heartbeat opened for its rewrite: a descriptor, -1 when there is none yet, -2 on failure. */
static int open_existing(const char *target, Failure *f) {
  /* O_NOFOLLOW: a planted symbolic link is refused; O_NONBLOCK: a planted FIFO cannot hold the open. */
  int fd = open(target, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
  if (fd >= 0) return fd;
  if (errno == ELOOP) return fail_named(f, "ELOOP", "%s is a symbolic link: not followed", target), -2;
  if (errno == ENXIO) return fail_named(f, "EFTYPE", "%s is a FIFO or a device, not a regular file", target), -2;
  if (errno == ENOENT) return -1;
  return fail_sys(f, errno, "open", target, NULL), -2;
}

/* Read back through O_DIRECT, past this host's cache: 1 verified, 0 unavailable (the filesystem refuses O_DIRECT). */
static int read_back(const char *target, const char *content, Failure *f) {
  int fd = open(target, O_RDONLY | O_DIRECT | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EINVAL) return 0;
    return fail_sys(f, errno, "open", target, NULL), -1;
  }
  void *block = NULL;
  if (posix_memalign(&block, 4096, 4096) != 0) _exit(70);
  ssize_t n = pread(fd, block, 4096, 0);
  int error = errno;
  close(fd);
  if (n < 0) {
    free(block);
    if (error == EINVAL) return 0;
    return fail_sys(f, error, "read", NULL, NULL), -1;
  }
  int same = (size_t)n == strlen(content) && memcmp(block, content, (size_t)n) == 0;
  if (!same) {
    Buf seen = {0}, wrote = {0};
    json_string(&seen, block, (size_t)n, 1);
    json_string(&wrote, content, strlen(content), 1);
    fail_named(f, "EMISMATCH", "read back %s, wrote %s", seen.data, wrote.data);
    buf_free(&seen);
    buf_free(&wrote);
  }
  free(block);
  return same ? 1 : -1;
}

/* The previous record's seq when it is a JSON object with a safe-integer seq. */
typedef struct {
  int found;
  double seq;
} SeqState;

static int visit_seq(const char *key, Json *j, void *state) {
  SeqState *s = state;
  if (strcmp(key, "seq") != 0) return skip_value(j);
  skip_blank(j);
  double value;
  const char *at = j->p;
  if (j->p < j->end && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) && parse_number(j, &value)) {
    s->found = value >= -9007199254740991.0 && value <= 9007199254740991.0 && value == (double)(long long)value;
    s->seq = value;
    return 1;
  }
  j->p = at;
  s->found = 0; /* the last "seq" wins, as in JSON.parse */
  return skip_value(j);
}

static void record_error(Buf *out, const char *record_file, int error) {
  if (error == ELOOP) buf_fmt(out, "%s is a symbolic link: skipped", record_file);
  else if (error == ENXIO) buf_fmt(out, "%s is a FIFO or a device, not a regular file: skipped", record_file);
}

/* The record is advisory: rewritten in place without fsync, never a reason to fail the heartbeat. */
static void write_record(const Request *r, dev_t expected, Buf *reply) {
  Buf file = {0}, problem = {0};
  Failure f = {0};
  char name[PATH_MAX];
  snprintf(name, sizeof name, "hbx-%s.json", r->host);
  join(&file, r->folder, name);
  int knows_seq = r->has_record_seq;
  long long seq = knows_seq ? (long long)r->record_seq : 1;
  int fd = open(file.data, (knows_seq ? O_WRONLY : O_RDWR) | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0) {
    int error = errno;
    record_error(&problem, file.data, error);
    if (problem.len == 0) fail_sys(&f, error, "open", file.data, NULL), buf_fmt(&problem, "%s: %s", f.code, f.message.data);
  } else {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      fail_sys(&f, errno, "fstat", NULL, NULL);
      buf_fmt(&problem, "%s: %s", f.code, f.message.data);
    } else if (!S_ISREG(st.st_mode)) {
      buf_fmt(&problem, "%s is a %s, not a regular file: skipped", file.data, kind_name(st.st_mode));
    } else if (st.st_dev != expected) {
      buf_fmt(&problem, "%s is on another filesystem than the heartbeat: skipped", file.data);
    } else {
      if (!knows_seq && st.st_size > 0) {
        char old[4096];
        ssize_t n = pread(fd, old, st.st_size < 4096 ? (size_t)st.st_size : 4096, 0);
        if (n < 0) {
          fail_sys(&f, errno, "read", NULL, NULL);
          buf_fmt(&problem, "%s: %s", f.code, f.message.data);
        } else {
          Json j = {old, old + n, 0};
          SeqState s = {0, 0};
          if (each_member(&j, visit_seq, &s) && s.found) seq = (long long)s.seq + 1;
        }
      }
      if (problem.len == 0) {
        /* The fields as the caller serialized them, then seq: what JSON.stringify({...fields, seq}) gives. */
        const char *fields = r->record_text;
        size_t n = strlen(fields);
        Buf text = {0};
        buf_add(&text, fields, n > 0 ? n - 1 : 0);
        buf_fmt(&text, "%s\"seq\":%lld}\n", n <= 2 ? "" : ",", seq);
        /* Padded with blanks (valid JSON) to the size already there, so that it keeps its blocks. */
        if ((size_t)st.st_size > text.len && st.st_size <= 4096) {
          size_t pad = (size_t)st.st_size - text.len;
          text.len--;
          for (size_t i = 0; i < pad; i++) buf_add(&text, " ", 1);
          buf_add(&text, "\n", 1);
        }
        ssize_t written = pwrite(fd, text.data, text.len, 0);
        if (written < 0) {
          fail_sys(&f, errno, "write", NULL, NULL);
          buf_fmt(&problem, "%s: %s", f.code, f.message.data);
        } else if ((size_t)written != text.len) {
          buf_fmt(&problem, "EIO: short write: %zd of %zu bytes", written, text.len);
        } else if ((size_t)st.st_size > (size_t)written && ftruncate(fd, written) != 0) {
          fail_sys(&f, errno, "ftruncate", NULL, NULL);
          buf_fmt(&problem, "%s: %s", f.code, f.message.data);
        }
        buf_free(&text);
      }
    }
    if (close(fd) != 0 && problem.len == 0) {
      fail_sys(&f, errno, "close", NULL, NULL);
      buf_fmt(&problem, "%s: %s", f.code, f.message.data);
    }
  }
  if (problem.len == 0) {
    json_key(reply, "seq");
    buf_fmt(reply, "%lld", seq);
  } else {
    json_field_str(reply, "recordError", problem.data);
  }
  buf_free(&file);
  buf_free(&problem);
  buf_free(&f.message);
}

/* Leftovers of killed attempts whose process is gone (their name carries its pid); a live one's are left for later. */
static void sweep(const Request *r, Buf *reply) {
  DIR *dir = opendir(r->folder);
  if (dir == NULL) {
    Failure f = {0};
    fail_sys(&f, errno, "scandir", r->folder, NULL);
    json_field_str(reply, "sweepError", f.message.data);
    buf_free(&f.message);
    return;
  }
  char prefixes[2][PATH_MAX];
  snprintf(prefixes[0], PATH_MAX, ".hb-%s.", r->host);
  snprintf(prefixes[1], PATH_MAX, ".hbx-%s.", r->host);
  int swept = 0, skipped = 0;
  Buf path = {0};
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *rest = NULL;
    for (int i = 0; i < 2 && rest == NULL; i++)
      if (strncmp(entry->d_name, prefixes[i], strlen(prefixes[i])) == 0) rest = entry->d_name + strlen(prefixes[i]);
    if (rest == NULL) continue;
    /* <pid>.<hex>.tmp */
    const char *c = rest;
    long long pid = 0;
    int digits = 0;
    while (*c >= '0' && *c <= '9') pid = pid < 1000000000000LL ? pid * 10 + (*c - '0') : pid, c++, digits++;
    if (digits == 0 || *c++ != '.') continue;
    int hex = 0;
    while ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')) c++, hex++;
    if (hex == 0 || strcmp(c, ".tmp") != 0) continue;
    int alive = pid <= INT_MAX && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
    if (alive) {
      skipped++;
      continue;
    }
    join(&path, r->folder, entry->d_name);
    /* Gone already, or another writer's sweep got there first: nothing to say. */
    if (unlink(path.data) == 0) swept++;
  }
  closedir(dir);
  buf_free(&path);
  json_key(reply, "swept");
  buf_fmt(reply, "%d", swept);
  json_key(reply, "sweepSkipped");
  buf_fmt(reply, "%d", skipped);
}


static void write_operation(const Request *r, Buf *reply) {
  Progress p = {"open", {0}};
  Place place = {0};
  Failure f = {0};
  char name[PATH_MAX];
  snprintf(name, sizeof name, "hb-%s", r->host);
  join(&place.target, r->folder, name);
  Buf parent = {0};
  parent_of(&parent, r->folder);
  place.mount_point = r->mount_point != NULL ? r->mount_point : parent.data;
  const char *mode = "in-place";
  const char *readback = "skipped";
  dev_t device = 0;
  int ok;
  int fd = -2;
  if (r->nfs_mounts_file != NULL) {
    p.step = "mount";
    if (check_nfs_mount(r->nfs_mounts_file, place.mount_point, &f)) mark_step(&p, "open");
  }
  if (strcmp(p.step, "open") == 0) fd = open_existing(place.target.data, &f);
  if (fd == -2) {
    ok = 0;
  } else {
    if (fd == -1) mode = "created";
    ok = fd == -1 ? create_first(r, &place, &p, &device, &f) : rewrite_in_place(r, &place, fd, &p, &device, &f);
    if (ok && r->read_back) {
      mark_step(&p, "readback");
      int seen = read_back(place.target.data, r->content, &f);
      if (seen < 0) ok = 0;
      else readback = seen ? "verified" : "unavailable";
    }
    if (ok) mark_step(&p, "done");
  }
  if (!ok) {
    if (strcmp(mode, "created") == 0 && place.temporary.data != NULL) unlink(place.temporary.data);
    buf_str(reply, "{\"ok\":false");
    json_field_str(reply, "step", p.step);
    json_field_str(reply, "code", f.code);
    json_field_str(reply, "message", f.message.data == NULL ? "" : f.message.data);
  } else {
    buf_str(reply, "{\"ok\":true");
    json_field_str(reply, "mode", mode);
    json_field_str(reply, "readback", readback);
    long took = elapsed_ms();
    int slow = r->has_extras_within && (double)took > r->extras_within_ms;
    if (slow) {
      Buf why = {0};
      buf_fmt(&why, "the heartbeat took %ld ms, more than %.15g ms: record and sweep left for a faster round", took, r->extras_within_ms);
      json_field_str(reply, "extrasSkipped", why.data);
      buf_free(&why);
    }
    if (r->record_text != NULL && !slow) write_record(r, device, reply);
    if (!slow && (r->sweep == 1 || (r->sweep == 2 && strcmp(mode, "created") == 0))) sweep(r, reply);
  }
  json_key(reply, "stepsMs");
  buf_str(reply, "{");
  if (p.steps.len > 0) buf_add(reply, p.steps.data, p.steps.len);
  buf_str(reply, "}}");
  buf_free(&p.steps);
  buf_free(&place.target);
  buf_free(&place.temporary);
  buf_free(&parent);
  buf_free(&f.message);
}

/*
 * @hb/config's safe reader's open: only a regular file as lstat (follow: stat) says, opened without
 * following a link (unless asked) or waiting on a FIFO, checked again on the descriptor. The
 * descriptor, or -1 with `f` saying why (its kind for a planted non-file).
 */
static int open_regular(const char *file, int follow, struct stat *st, Failure *f) {
  struct stat before;
  if ((follow ? stat(file, &before) : lstat(file, &before)) != 0) return fail_sys(f, errno, follow ? "stat" : "lstat", file, NULL), -1;
  if (!S_ISREG(before.st_mode)) {
    fail_named(f, "EFTYPE", "%s is a %s, not a regular file: not read", file, kind_name(before.st_mode));
    f->kind = kind_name(before.st_mode);
    return -1;
  }
  int fd = open(file, O_RDONLY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW) | O_NOCTTY);
  if (fd < 0) {
    if (errno == ELOOP && !follow) return fail_named(f, "EFTYPE", "%s is a symbolic link, not a regular file: not read", file), f->kind = "symbolic link", -1;
    return fail_sys(f, errno, "open", file, NULL), -1;
  }
  if (fstat(fd, st) != 0) {
    fail_sys(f, errno, "fstat", NULL, NULL);
  } else if (!S_ISREG(st->st_mode)) {
    fail_named(f, "EFTYPE", "%s is a %s, not a regular file: not read", file, kind_name(st->st_mode));
    f->kind = kind_name(st->st_mode);
  } else {
    return fd;
  }
  close(fd);
  return -1;
}

/*
 * @hb/config's safe reader: a regular file opened as open_regular does, no more than max + 1
 * bytes read (head: one read of the first max bytes, a heartbeat's reader). 1 read; 0 refused or
 * failed (f says why).
 */
static int read_regular(const char *file, size_t max, int head, Buf *bytes, struct stat *st, Failure *f) {
  int fd = open_regular(file, 0, st, f);
  if (fd < 0) return 0;
  int ok = 0;
  if (!head && (size_t)st->st_size > max) {
    fail_named(f, "EFBIG", "%s is larger than %zu bytes: not read", file, max);
  } else {
    size_t room = head ? max : max + 1;
    buf_grow(bytes, room);
    bytes->len = 0;
    ok = 1;
    while (bytes->len < room) {
      ssize_t n = read(fd, bytes->data + bytes->len, room - bytes->len);
      if (n < 0) {
        fail_sys(f, errno, "read", NULL, NULL);
        ok = 0;
        break;
      }
      bytes->len += (size_t)n;
      if (n == 0 || head) break;
    }
    if (ok && bytes->len > max) fail_named(f, "EFBIG", "%s is larger than %zu bytes: not read", file, max), ok = 0;
  }
  close(fd);
  return ok;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
  char *name;
  const char *kind;
} Skipped;

static int skipped_by_name(const void *a, const void *b) { return strcmp(((const Skipped *)a)->name, ((const Skipped *)b)->name); }

/* Every hb-<host> of the folder (its first 4096 bytes and mtime) and its hbx-<host>.json record. */
static void scan_operation(const Request *r, Buf *reply) {
  DIR *dir = opendir(r->folder);
  if (dir == NULL) {
    Failure f = {0};
    fail_sys(&f, errno, "scandir", r->folder, NULL);
    buf_str(reply, "{\"ok\":false");
    json_field_str(reply, "code", f.code);
    json_field_str(reply, "message", f.message.data);
    buf_str(reply, "}");
    buf_free(&f.message);
    return;
  }
  char **names = NULL;
  size_t count = 0, cap = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (count == cap) {
      cap = cap == 0 ? 64 : cap * 2;
      names = realloc(names, cap * sizeof *names);
      if (names == NULL) _exit(70);
    }
    names[count++] = strdup(entry->d_name);
  }
  closedir(dir);
  qsort(names, count, sizeof *names, by_name);
  Skipped *skipped = calloc(count + 1, sizeof *skipped);
  size_t skipped_count = 0;
  buf_str(reply, "{\"ok\":true,\"entries\":[");
  int first = 1;
  Buf path = {0}, bytes = {0}, record_name = {0};
  for (size_t i = 0; i < count; i++) {
    if (strncmp(names[i], "hb-", 3) != 0) continue;
    const char *host = names[i] + 3;
    Buf entry_json = {0};
    buf_str(&entry_json, "{");
    json_field_str(&entry_json, "host", host);
    Failure f = {0};
    struct stat st;
    join(&path, r->folder, names[i]);
    /* Only the first 4096 bytes: more than any heartbeat, and a big stray file costs no more. */
    if (read_regular(path.data, HEAD_BYTES, 1, &bytes, &st, &f)) {
      json_key(&entry_json, "mtimeMs");
      buf_fmt(&entry_json, "%.3f", (double)st.st_mtim.tv_sec * 1e3 + (double)st.st_mtim.tv_nsec / 1e6);
      json_key(&entry_json, "text");
      json_string(&entry_json, bytes.data, bytes.len, 1);
    } else if (f.kind != NULL) {
      /* One planted FIFO or link costs its own entry, never the pool. */
      skipped[skipped_count].name = names[i];
      skipped[skipped_count++].kind = f.kind;
      buf_free(&entry_json);
      buf_free(&f.message);
      continue;
    } else {
      json_field_str(&entry_json, "code", f.code[0] == '\0' ? "EIO" : f.code);
    }
    record_name.len = 0;
    buf_fmt(&record_name, "hbx-%s.json", host);
    if (bsearch(&record_name.data, names, count, sizeof *names, by_name) != NULL) {
      Failure rf = {0};
      join(&path, r->folder, record_name.data);
      if (read_regular(path.data, HEAD_BYTES, 0, &bytes, &st, &rf)) {
        json_key(&entry_json, "record");
        json_string(&entry_json, bytes.data, bytes.len, 0);
      } else if (rf.kind != NULL) {
        /* A record is optional: without it the heartbeat alone decides. A planted one is counted. */
        char **found = bsearch(&record_name.data, names, count, sizeof *names, by_name);
        skipped[skipped_count].name = *found;
        skipped[skipped_count++].kind = rf.kind;
      }
      buf_free(&rf.message);
    }
    buf_str(&entry_json, "}");
    if (!first) buf_str(reply, ",");
    first = 0;
    buf_add(reply, entry_json.data, entry_json.len);
    buf_free(&entry_json);
    buf_free(&f.message);
  }
  buf_str(reply, "],\"skipped\":[");
  qsort(skipped, skipped_count, sizeof *skipped, skipped_by_name);
  for (size_t i = 0; i < skipped_count; i++) {
    buf_str(reply, i == 0 ? "{\"name\":" : ",{\"name\":");
    json_string(reply, skipped[i].name, strlen(skipped[i].name), 0);
    buf_str(reply, ",\"kind\":");
    json_string(reply, skipped[i].kind, strlen(skipped[i].kind), 0);
    buf_str(reply, "}");
  }
  buf_str(reply, "]}");
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
  free(skipped);
  buf_free(&path);
  buf_free(&bytes);
  buf_free(&record_name);
}

static void bad_request(Buf *reply, const char *code, const char *message) {
  buf_str(reply, "{\"ok\":false");
  json_field_str(reply, "code", code);
  json_field_str(reply, "message", message);
  buf_str(reply, "}");
}

static void answer(const char *line, size_t n, Buf *reply) {
  clock_gettime(CLOCK_MONOTONIC, &started);
  Request r = {0};
  Json j = {line, line + n, 0};
  if (!each_member(&j, visit_request, &r)) {
    bad_request(reply, "EWORKER", "the request is not a JSON object of the worker's fields");
  } else if (r.op == NULL) {
    bad_request(reply, "EWORKER", "the request names no operation");
  } else if (strcmp(r.op, "write") == 0 || strcmp(r.op, "scan") == 0) {
    int write = r.op[0] == 'w';
    if (r.folder == NULL || (write && (r.host == NULL || r.content == NULL))) bad_request(reply, "EWORKER", write ? "a write needs folder, host and content" : "a scan needs a folder");
    else if (write) write_operation(&r, reply);
    else scan_operation(&r, reply);
  } else {
    Buf message = {0};
    buf_str(&message, "the native storage worker does not do ");
    json_string(&message, r.op, strlen(r.op), 0);
    bad_request(reply, "EBADREQUEST", message.data);
    buf_free(&message);
  }
  request_free(&r);
}

static void send_all(const char *data, size_t n) {
  while (n > 0) {
    ssize_t written = write(1, data, n);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) _exit(0); /* hbd is gone or let go of this worker */
    data += written;
    n -= (size_t)written;
  }
}

int main(void) {
  signal(SIGPIPE, SIG_DFL);
  own_pid = getpid();
  static char input[MAX_REQUEST + 1];
  size_t have = 0;
  int overlong = 0;
  Buf reply = {0};
  for (;;) {
    char *newline = memchr(input, '\n', have);
    if (newline == NULL) {
      if (have == MAX_REQUEST) {
        overlong = 1; /* answered once its end arrives */
        have = 0;
      }
      ssize_t n = read(0, input + have, MAX_REQUEST - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        /* The end of the input: hbd released this worker. A last request without its newline
         * (one request per run, as any executor may send it) is still answered. */
        if (have == 0 || overlong) return 0;
        input[have++] = '\n';
        continue;
      }
      have += (size_t)n;
      continue;
    }
    size_t length = (size_t)(newline - input);
    reply.len = 0;
    if (overlong) {
      bad_request(&reply, "EWORKER", "the request is longer than 65536 bytes");
      overlong = 0;
    } else {
      answer(input, length, &reply);
    }
    buf_add(&reply, "\n", 1);
    send_all(reply.data, reply.len);
    have -= length + 1;
    memmove(input, newline + 1, have);
  }
}
