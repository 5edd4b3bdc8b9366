/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drop directory object: one inotify watch on the directory (never per
 * file), driven by sd-event, that turns files dropped by an operator into
 * bundles handed to the daemon one at a time.
 *
 * Events are a reason to rescan, not data (as dbus-broker's dirwatch): the
 * inotify fd is read to EAGAIN, the few facts that only events can tell are
 * noted per name, and a deferred scan of the directory decides. The facts:
 *   - a regular file is "being written" from IN_CREATE/IN_MODIFY until
 *     IN_CLOSE_WRITE or IN_MOVED_TO; such a file is never read, whatever
 *     pauses its writer makes. Files found by a scan without events (the scan
 *     at start, the rescan after IN_Q_OVERFLOW) count as complete: a writer
 *     that crashed is done too.
 *   - the drop order: every IN_CLOSE_WRITE/IN_MOVED_TO/IN_CREATE takes the
 *     next sequence number; files first seen by a scan are numbered in order
 *     of ctime, then name.
 *
 * Ordering rule. A bundle's place is the sequence number of its newest
 * file, i.e. when it became complete. Each scan hands out the complete,
 * fully written bundle with the lowest place; after dropdir_bundle_done()
 * the next scan hands out the next. Bundles of different names are all
 * processed, in drop order, so the last valid one of a burst is what stays
 * installed. A bundle is read when it is handed out, not when it was
 * dropped, so a NAME rewritten while its previous bundle is out is only
 * installed in its newest form: intermediate versions of the same name are
 * superseded without being installed. Files changed while their bundle was
 * out are left in place for the next round.
 *
 * Completeness: certificate + key, a certificate file holding a key as well
 * ("PRIVATE KEY-----", the combined NAME.pem), or a Kubernetes Secret volume
 * ("..data" a symlink to the kubelet's timestamped directory; the visible
 * symlinks into it are ignored; one swap of "..data" is one new content). An
 * incomplete bundle waits SettleSec= for its missing part (an sd-event
 * timer, no sleeping), then is rejected; one with a file still being written
 * waits for its close.
 *
 * Outcomes: every entry ends in one of three ways. Installed (or served
 * already, which the daemon decides): its files are removed. Refused: its
 * files move to rejected/ beside NAME.error. Ignored, because it is no part
 * of a bundle (a hidden name, a directory, a name we do not recognise): left
 * alone, and said once (on_ignored) when it has stayed SettleSec=. Content
 * dropped again after its files were removed is handed out again. The
 * daemon answers asynchronously, so an operator may already be renaming the
 * next bundle's files over the old ones: a file is first renamed away and
 * then compared with what was read (inode, size, mtime), and put back when
 * it is newer (take_file()); checking first and unlinking by name would
 * race and delete the new file.
 * Refused files move to rejected/ beside NAME.error ("ErrorName: message").
 * Where files cannot be removed or moved (read-only directory, Secret volume)
 * the content is remembered by SHA-256 instead (in the state file,
 * dropdir-state.c, across restarts), so nothing is handed out or rejected in
 * a loop. Hard links are read like any file: only root and the daemon can
 * create entries here, the owner check applies to the file itself, and
 * removing one removes this name only.
 *
 * It does not validate certificates (the daemon's pipeline does), does not
 * log above debug, and never reads a file outside the directory
 * (dropdir-safeopen.c).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dropdir-files.h"
#include "dropdir-state.h"
#include "dropdir.h"
#include "openssl-util.h"


#define TRACK_BUCKETS 1024
#define KUBELET_DATA "..data"
/* IN_ATTRIB: a chmod of the directory itself makes it (un)safe. */
#define INOTIFY_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | \
                      IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* What events told us about one name in the directory. */
typedef struct Track {
        struct Track *next;
        char *name;
        bool pending;            /* created or modified, not yet closed */
        bool modified;           /* IN_MODIFY seen since IN_CREATE */
        uint64_t seq;            /* drop order; 0: not yet numbered */
        uint64_t ready_usec;     /* CLOCK_MONOTONIC when it became complete */
        bool present;            /* sweep mark of the current scan */
        mode_t type;             /* S_IFREG, S_IFLNK, … as last listed */
        /* cached answer to "does this certificate file hold a key too?" */
        bool key_checked, has_key;
        bool ignored_reported;   /* on_ignored said why it is left alone */
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
} Track;

struct DropDir {
        sd_event *event;
        char *path;
        uint64_t settle_usec;
        uint64_t max_file_size;
        dropdir_bundle_t on_bundle;
        dropdir_rejected_t on_rejected;
        dropdir_ignored_t on_ignored;
        void *userdata;

        int dir_fd;             /* open only during a scan or dropdir_bundle_done(): see dir_pin() */
        int inotify_fd;
        int wd;
        bool unsafe;            /* made group/world-writable under us: ignored (and said once) until fixed */

        sd_event_source *io_source;
        sd_event_source *scan_source;
        sd_event_source *settle_source;

        DropSeen *seen;            /* content whose files could not go, across restarts (the state file) */
        DropSeen *kept;            /* the same, handled by this process: never handed out twice */
        Track *tracks[TRACK_BUCKETS];
        uint64_t seq;
        bool busy;
        Current current;

        uint64_t n_overflows;
        uint64_t n_scans;
};

static int dir_pin(DropDir *d);
static void dir_unpin(DropDir *d, int pinned);

/* ------------------------------------------------------------ tracking */

static unsigned track_bucket(const char *name) {
        unsigned h = 5381;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                h = h * 33 + *p;
        return h % TRACK_BUCKETS;
}

static Track *track_get(DropDir *d, const char *name) {
        for (Track *t = d->tracks[track_bucket(name)]; t; t = t->next)
                if (streq(t->name, name))
                        return t;
        return NULL;
}

static Track *track_ensure(DropDir *d, const char *name) {
        Track *t = track_get(d, name);
        unsigned b;

        if (t)
                return t;
        t = calloc(1, sizeof(Track));
        if (!t)
                return NULL;
        t->name = strdup(name);
        if (!t->name) {
                free(t);
                return NULL;
        }
        b = track_bucket(name);
        t->next = d->tracks[b];
        d->tracks[b] = t;
        return t;
}

static void track_remove(DropDir *d, const char *name) {
        for (Track **p = &d->tracks[track_bucket(name)]; *p; p = &(*p)->next)
                if (streq((*p)->name, name)) {
                        Track *t = *p;
                        *p = t->next;
                        free(t->name);
                        free(t);
                        return;
                }
}

static void tracks_clear(DropDir *d) {
        for (unsigned b = 0; b < TRACK_BUCKETS; b++)
                while (d->tracks[b]) {
                        Track *t = d->tracks[b];
                        d->tracks[b] = t->next;
                        free(t->name);
                        free(t);
                }
}

static uint64_t now_usec(DropDir *d) {
        uint64_t t = 0;
        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* ----------------------------------------------------------- bundles */

static int remember(DropDir *d, DropSeenKind kind, const char *hash) {
        return drop_seen_add(d->seen, kind, hash);
}

/* Rejection decided here (unsafe file, incomplete bundle): move or remember, then tell the daemon. */
static void reject_candidate(DropDir *d, const Candidate *c, CertErrorCode code, const char *message) {
        char hash[65];
        bool have_hash;
        int r = -EROFS;

        /* Files we could not move away last time are still here: say it once, not at every scan. */
        have_hash = identity_hash(d->dir_fd, c->paths, hash) >= 0;
        if (have_hash && drop_seen_contains(d->seen, hash, NULL))
                return;

        if (!c->kubelet)
                r = move_to_rejected(d->dir_fd, c->name, c->paths, NULL, cert_error_name(code), message);
        if (r < 0 && have_hash) {
                (void) remember(d, DROP_SEEN_REJECTED, hash);
                (void) drop_seen_add(d->kept, DROP_SEEN_REJECTED, hash);
        }

        if (d->on_rejected)
                d->on_rejected(d, c->name, code, message, d->userdata);
}

/*
 * Does a lone certificate file hold the key too (the combined NAME.pem)?
 * Returns 1/0, -EPERM with *refusal, -ENOENT, -errno. Cached per inode.
 */
static int check_combined(DropDir *d, const char *path, DropRefusal *refusal) {
        _cleanup_(drop_file_done) DropFile f = {};
        Track *t = track_ensure(d, path);
        struct stat st;
        int r;

        if (!t)
                return -ENOMEM;
        if (fstatat(d->dir_fd, path, &st, 0) >= 0 && t->key_checked &&
            t->dev == st.st_dev && t->ino == st.st_ino && t->size == st.st_size &&
            t->mtime.tv_sec == st.st_mtim.tv_sec && t->mtime.tv_nsec == st.st_mtim.tv_nsec)
                return t->has_key;

        r = drop_file_read(d->dir_fd, path, d->max_file_size, &f, refusal);
        if (r < 0)
                return r;
        t->key_checked = true;
        t->has_key = holds_private_key(f.data, f.size);
        t->dev = f.st.st_dev;
        t->ino = f.st.st_ino;
        t->size = f.st.st_size;
        t->mtime = f.st.st_mtim;
        return t->has_key;
}

/* -------------------------------------------------------------- scans */

typedef struct Numbering {
        Track *track;
        struct timespec ctime;
} Numbering;

static int numbering_cmp(const void *a, const void *b) {
        const Numbering *x = a, *y = b;
        if (x->ctime.tv_sec != y->ctime.tv_sec)
                return x->ctime.tv_sec < y->ctime.tv_sec ? -1 : 1;
        if (x->ctime.tv_nsec != y->ctime.tv_nsec)
                return x->ctime.tv_nsec < y->ctime.tv_nsec ? -1 : 1;
        return strcmp(x->track->name, y->track->name);
}

/* Marks present names, forgets vanished ones, numbers names seen for the first time. */
static int sweep_tracks(DropDir *d, const Listing *l, uint64_t now) {
        _cleanup_free_ Numbering *fresh = NULL;
        size_t n_fresh = 0;

        for (unsigned b = 0; b < TRACK_BUCKETS; b++)
                for (Track *t = d->tracks[b]; t; t = t->next)
                        t->present = false;

        fresh = calloc(l->n + 1, sizeof(Numbering));
        if (!fresh)
                return -ENOMEM;

        for (size_t i = 0; i < l->n; i++) {
                Track *t = track_ensure(d, l->names[i]);
                if (!t)
                        return -ENOMEM;
                t->present = true;
                t->type = l->types[i];
                if (t->seq == 0) {
                        struct stat st = {};
                        (void) fstatat(d->dir_fd, l->names[i], &st, AT_SYMLINK_NOFOLLOW);
                        fresh[n_fresh++] = (Numbering) { .track = t, .ctime = st.st_ctim };
                }
                if (t->ready_usec == 0)
                        t->ready_usec = now;
        }

        if (n_fresh > 0)   /* qsort() must not be given NULL, even for no elements */
                qsort(fresh, n_fresh, sizeof(Numbering), numbering_cmp);
        for (size_t i = 0; i < n_fresh; i++)
                fresh[i].track->seq = ++d->seq;

        for (unsigned b = 0; b < TRACK_BUCKETS; b++)
                for (Track **p = &d->tracks[b]; *p;) {
                        Track *t = *p;
                        if (t->present) {
                                p = &t->next;
                                continue;
                        }
                        *p = t->next;
                        free(t->name);
                        free(t);
                }
        return 0;
}

/* The kubelet's form: "..data" a symlink to a timestamped directory holding the Secret's files. */
static int kubelet_candidates(DropDir *d, Candidate **list, size_t *n) {
        _cleanup_(listing_done) Listing l = {};
        DropGroup *groups = NULL;
        Track *t = track_get(d, KUBELET_DATA);
        int r, n_groups;

        r = list_dir(d->dir_fd, KUBELET_DATA, &l);
        if (r < 0)
                return r == -ENOENT || r == -ENOTDIR || r == -EXDEV ? 0 : r;

        n_groups = drop_names_group(l.names, l.n, &groups);
        if (n_groups < 0)
                return n_groups;

        for (int i = 0; i < n_groups; i++) {
                Candidate c = { .kubelet = true, .seq = t ? t->seq : 0, .since = t ? t->ready_usec : 0 };

                if (streq(groups[i].name, "tls"))
                        c.name = strdup(KUBELET_DATA);
                else if (asprintf(&c.name, KUBELET_DATA "/%s", groups[i].name) < 0)
                        c.name = NULL;
                if (!c.name) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t p = 0; p < _DROP_PART_MAX; p++)
                        if (groups[i].files[p] &&
                            asprintf(&c.paths[p], KUBELET_DATA "/%s", groups[i].files[p]) < 0) {
                                c.paths[p] = NULL;
                                r = -ENOMEM;
                        }
                c.complete = c.paths[DROP_PART_CERT] && c.paths[DROP_PART_KEY];
                if (r >= 0)
                        r = candidates_add(list, n, &c);
                candidate_done(&c);
                if (r < 0)
                        break;
        }
        drop_groups_free(groups, (size_t) n_groups);
        return r < 0 ? r : 0;
}

/* Is a top-level symlink one of the kubelet's visible names ("tls.crt -> ..data/tls.crt")? */
static bool is_kubelet_link(DropDir *d, const char *name) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(d->dir_fd, name, target, sizeof(target) - 1);

        if (n < 0)
                return false;
        target[n] = 0;
        return strncmp(target, KUBELET_DATA "/", strlen(KUBELET_DATA "/")) == 0;
}

/*
 * `ln /root/new.crt console.crt` creates a complete file: IN_CREATE and no
 * close will ever follow. Never written since its creation and with a second
 * name, it is not being written through this one.
 */
static bool is_hard_link(DropDir *d, Track *t) {
        struct stat st;

        if (t->modified)
                return false;
        if (fstatat(d->dir_fd, t->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_nlink < 2)
                return false;
        t->pending = false;
        return true;
}

static const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/*
 * Why an entry of the directory is no part of any bundle, completing "it …"; NULL when it is one
 * (or one of ours, or the kubelet's machinery, which are nobody's business).
 */
static const char *ignore_reason(DropDir *d, const char *name, mode_t type, bool kubelet) {
        _cleanup_free_ char *bundle = NULL;

        if (S_ISDIR(type) && streq(name, REJECTED_DIR))
                return NULL;
        if (startswith(name, DROP_REMOVING_PREFIX))
                return NULL;
        if (kubelet && startswith(name, ".."))
                return NULL;
        if (name[0] == '.')
                return "is hidden (its name starts with '.'): files are read under their final names only, "
                       "so write one aside and rename it in";
        if (S_ISDIR(type))
                return "is a directory";
        if (kubelet && S_ISLNK(type) && is_kubelet_link(d, name))
                return NULL;
        if (drop_name_classify(name, &bundle) < 0)
                return "is not named as a part of a bundle (NAME.crt, .cert, .pem, .key, .ca.crt, .ca.pem, "
                       "-ca.pem or -ca.crt)";
        return NULL;
}

/* Says once why an entry is left alone, when it has been there SettleSec=; else when to look again. */
static void report_ignored(DropDir *d, const char *name, const char *reason, uint64_t now, uint64_t *deadline) {
        Track *t = track_get(d, name);

        if (!t || t->ignored_reported)
                return;
        if (now < t->ready_usec + d->settle_usec) {
                if (t->ready_usec + d->settle_usec < *deadline)
                        *deadline = t->ready_usec + d->settle_usec;
                return;
        }
        t->ignored_reported = true;
        if (d->on_ignored)
                d->on_ignored(d, name, reason, d->userdata);
}

static int collect_candidates(DropDir *d, uint64_t now, Candidate **ret, size_t *ret_n, uint64_t *deadline) {
        _cleanup_(listing_done) Listing l = {}, usable = {};
        Candidate *list = NULL;
        DropGroup *groups = NULL;
        size_t n = 0;
        bool kubelet = false;
        int r, n_groups;

        r = list_dir(d->dir_fd, ".", &l);
        if (r < 0)
                return r;
        r = sweep_tracks(d, &l, now);
        if (r < 0)
                return r;

        for (size_t i = 0; i < l.n; i++)
                if (streq(l.names[i], KUBELET_DATA) && S_ISLNK(l.types[i]))
                        kubelet = true;

        for (size_t i = 0; i < l.n; i++) {
                const char *why = ignore_reason(d, l.names[i], l.types[i], kubelet);

                if (why)
                        report_ignored(d, l.names[i], why, now, deadline);
                if (S_ISDIR(l.types[i]) || drop_name_ignored(l.names[i]))
                        continue;
                if (kubelet && S_ISLNK(l.types[i]) && is_kubelet_link(d, l.names[i]))
                        continue;
                r = listing_add(&usable, l.names[i], l.types[i]);
                if (r < 0)
                        return r;
        }

        n_groups = drop_names_group(usable.names, usable.n, &groups);
        if (n_groups < 0)
                return n_groups;

        for (int i = 0; i < n_groups; i++) {
                Candidate c = { .since = UINT64_MAX };

                c.name = TAKE_PTR(groups[i].name);
                for (size_t p = 0; p < _DROP_PART_MAX; p++) {
                        Track *t;

                        c.paths[p] = TAKE_PTR(groups[i].files[p]);
                        if (!c.paths[p])
                                continue;
                        t = track_get(d, c.paths[p]);
                        /* Only regular files have writers to wait for; links, FIFOs, devices are refused when read. */
                        if (t && t->pending && S_ISREG(t->type) && !is_hard_link(d, t))
                                c.pending = true;
                        if (t) {
                                c.seq = t->seq > c.seq ? t->seq : c.seq;
                                c.since = t->ready_usec < c.since ? t->ready_usec : c.since;
                        }
                }
                if (c.since == UINT64_MAX)
                        c.since = now;
                c.complete = c.paths[DROP_PART_CERT] && c.paths[DROP_PART_KEY];
                r = candidates_add(&list, &n, &c);
                candidate_done(&c);
                if (r < 0)
                        break;
        }
        drop_groups_free(groups, (size_t) n_groups);

        if (r >= 0 && kubelet)
                r = kubelet_candidates(d, &list, &n);
        if (r < 0) {
                candidates_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

static bool shares_current_file(DropDir *d, const Candidate *c) {
        if (!d->busy)
                return false;
        for (size_t p = 0; p < _DROP_PART_MAX; p++)
                for (size_t q = 0; q < _DROP_PART_MAX; q++)
                        if (c->paths[p] && d->current.paths[q] && streq(c->paths[p], d->current.paths[q]))
                                return true;
        return false;
}

/*
 * Hands out the candidate if it is new. Returns 1 when handed out, 0 when it
 * was disposed of (refused, already seen, vanished), -errno.
 */
static int offer(DropDir *d, Candidate *c) {
        _cleanup_(current_done) Current cur = {};
        DropRefusal refusal = {};
        DropSeenKind kind;
        int r;

        r = read_candidate(d->dir_fd, d->max_file_size, c, &cur, &refusal);
        if (r == -EPERM) {
                reject_candidate(d, c, refusal.code, refusal.message);
                return 0;
        }
        if (r == -ENOENT)
                return 0;   /* changed under us: its events bring it back */
        if (r < 0)
                return r;

        /* Handled by us already, and its files could not go: said then, not again at every scan. */
        if (drop_seen_contains(d->kept, cur.bundle.content_hash, NULL))
                return 0;
        /*
         * Remembered from before a restart, for the same reason: still so where files cannot go.
         * Anywhere else the files are here again because someone dropped them again: the daemon
         * decides (served already, or installed again as a new generation).
         */
        if (drop_seen_contains(d->seen, cur.bundle.content_hash, &kind) &&
            (kind == DROP_SEEN_REJECTED || cur.kubelet || faccessat(d->dir_fd, ".", W_OK, AT_EACCESS) < 0))
                return 0;

        d->busy = true;
        d->current = cur;
        cur = (Current) {};
        if (d->on_bundle)
                d->on_bundle(d, &d->current.bundle, d->userdata);
        return 1;
}

static int request_scan(DropDir *d) {
        return sd_event_source_set_enabled(d->scan_source, SD_EVENT_ONESHOT);
}

static int scan(DropDir *d) {
        Candidate *list = NULL;
        size_t n = 0;
        uint64_t now = now_usec(d), deadline = UINT64_MAX;
        bool handed = false;
        int r, pinned;

        pinned = dir_pin(d);
        if (pinned == -EPERM) {
                /* Anyone may have put files here: trust none of them until the mode is fixed (IN_ATTRIB). */
                if (!d->unsafe && d->on_rejected) {
                        char message[PATH_MAX + 128];
                        (void) snprintf(message, sizeof(message),
                                        "the drop directory '%s' is writable by group or others or owned by another user, ignoring it until that is fixed",
                                        d->path);
                        d->on_rejected(d, d->path, CERT_ERROR_MALFORMED, message, d->userdata);
                }
                d->unsafe = true;
                return pinned;
        }
        if (pinned < 0)
                return pinned;      /* gone: IN_DELETE_SELF/IN_MOVE_SELF brings a rewatch */
        d->unsafe = false;
        d->n_scans++;

        r = collect_candidates(d, now, &list, &n, &deadline);
        if (r < 0) {
                dir_unpin(d, pinned);
                return r;
        }

        /* Lone certificates may be combined files: look inside (cached per inode). */
        for (size_t i = 0; i < n; i++) {
                Candidate *c = &list[i];
                DropRefusal refusal = {};

                if (c->complete || c->pending || c->kubelet || !c->paths[DROP_PART_CERT] || shares_current_file(d, c))
                        continue;
                r = check_combined(d, c->paths[DROP_PART_CERT], &refusal);
                if (r == -EPERM) {
                        reject_candidate(d, c, refusal.code, refusal.message);
                        c->pending = true;   /* disposed of */
                } else if (r > 0)
                        c->complete = true;
        }

        if (n > 0)
                qsort(list, n, sizeof(Candidate), candidate_cmp);

        for (size_t i = 0; i < n; i++) {
                Candidate *c = &list[i];

                if (c->pending || shares_current_file(d, c))
                        continue;

                if (c->complete) {
                        /* One per scan: dropdir_bundle_done() asks for the next scan, which reads afresh. */
                        if (d->busy || handed)
                                continue;
                        r = offer(d, c);
                        if (r < 0)
                                break;
                        handed = r > 0;
                        continue;
                }

                if (c->kubelet)
                        continue;
                if (now >= c->since + d->settle_usec && c->paths[DROP_PART_CERT] && c->paths[DROP_PART_CA] &&
                    !c->paths[DROP_PART_KEY]) {
                        /* A certificate and its CA, and no key came: the answer to a signing request. The
                         * daemon looks for the pending key, or refuses it with MissingKey. */
                        if (d->busy || handed)
                                continue;
                        r = offer(d, c);
                        if (r < 0)
                                break;
                        handed = r > 0;
                        continue;
                }
                if (now >= c->since + d->settle_usec) {
                        char message[320];
                        CertErrorCode code;

                        incomplete_message(c, &code, message, sizeof(message));
                        reject_candidate(d, c, code, message);
                } else if (c->since + d->settle_usec < deadline)
                        deadline = c->since + d->settle_usec;
        }
        candidates_free(list, n);

        if (deadline != UINT64_MAX) {
                (void) sd_event_source_set_time(d->settle_source, deadline);
                (void) sd_event_source_set_enabled(d->settle_source, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_source_set_enabled(d->settle_source, SD_EVENT_OFF);

        dir_unpin(d, pinned);
        return r < 0 ? r : 0;
}

static int on_scan(sd_event_source *s, void *userdata) {
        (void) scan(userdata);
        return 0;
}

static int on_settle(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) scan(userdata);
        return 0;
}

/* ------------------------------------------------------ the directory */

/* Opens the directory, creating it 0700 when missing if create. Returns the fd or -errno. */
static int open_directory(DropDir *d, bool create) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
                r = mkdir_parents(d->path);
                if (r < 0)
                        return r;
                if (mkdir(d->path, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

/*
 * The directory is opened for each scan and closed after it: an fd held open
 * would keep a deleted directory's dentry alive and its IN_DELETE_SELF would
 * never come. Returns 1 when this call opened it (pass to dir_unpin()), 0 when
 * it was open already, -errno.
 */
static int dir_pin(DropDir *d) {
        int fd, r;

        if (d->dir_fd >= 0)
                return 0;
        fd = open_directory(d, false);
        if (fd < 0)
                return fd;
        r = check_directory(fd);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        d->dir_fd = fd;
        return 1;
}

static void dir_unpin(DropDir *d, int pinned) {
        if (pinned > 0)
                d->dir_fd = safe_close(d->dir_fd);
}

/* Creates the directory and watches it. Returns 0, -EPERM when it is unsafe (but watched), -errno. */
static int setup_directory(DropDir *d) {
        _cleanup_close_ int fd = -EBADF;
        char proc[64];
        int wd;

        fd = open_directory(d, true);
        if (fd < 0)
                return fd;

        /* Watch the very inode we opened, not whatever the path names by now. */
        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        wd = inotify_add_watch(d->inotify_fd, proc, INOTIFY_MASK);
        if (wd < 0 && errno == ENOENT)
                wd = inotify_add_watch(d->inotify_fd, d->path, INOTIFY_MASK);
        if (wd < 0)
                return negative_errno();

        d->wd = wd;
        return check_directory(fd);
}

static void rewatch(DropDir *d) {
        if (d->wd >= 0)
                (void) inotify_rm_watch(d->inotify_fd, d->wd);
        d->wd = -1;
        tracks_clear(d);

        /* An unsafe replacement is still watched: the scan says so, and a chmod brings it back. */
        (void) setup_directory(d);
        (void) request_scan(d);
}

static void note_event(DropDir *d, const struct inotify_event *e, uint64_t now) {
        Track *t;

        if (e->len == 0 || (e->mask & IN_ISDIR) || e->wd != d->wd)
                return;

        if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                track_remove(d, e->name);
                return;
        }
        t = track_ensure(d, e->name);
        if (!t)
                return;   /* out of memory: the scan numbers it instead */
        if (e->mask & (IN_CREATE | IN_MODIFY))
                t->pending = true;
        if (e->mask & IN_CREATE)
                t->modified = false;
        if (e->mask & IN_MODIFY)
                t->modified = true;
        if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)) {
                if (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
                        t->pending = false;
                t->seq = ++d->seq;
                t->ready_usec = now;
                t->key_checked = false;
        }
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DropDir *d = userdata;
        bool overflow = false, replaced = false, changed = false;
        uint64_t now = now_usec(d);

        for (;;) {
                union {
                        struct inotify_event ev;
                        char raw[64 * 1024];
                } buf;
                ssize_t n;

                n = read(fd, &buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;   /* EAGAIN: drained */
                }
                if (n == 0)
                        break;

                for (char *p = buf.raw; p < buf.raw + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        if (e->mask & IN_Q_OVERFLOW)
                                overflow = true;
                        else if (e->wd == d->wd && (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)))
                                replaced = true;
                        else {
                                note_event(d, e, now);
                                /* Writes alone are no reason to look: only their close is. */
                                if (e->mask & ~(IN_MODIFY))
                                        changed = true;
                        }
                        p += sizeof(struct inotify_event) + e->len;
                }
        }

        if (replaced) {
                rewatch(d);
                return 0;
        }
        if (overflow) {
                /* Events were lost: what is there now is all we know, as at start. */
                d->n_overflows++;
                for (unsigned b = 0; b < TRACK_BUCKETS; b++)
                        for (Track *t = d->tracks[b]; t; t = t->next)
                                t->pending = false;
                changed = true;
        }
        if (changed)
                (void) request_scan(d);
        return 0;
}

/* ------------------------------------------------------------- public */

DropDir *dropdir_free(DropDir *d) {
        if (!d)
                return NULL;
        sd_event_source_disable_unref(d->io_source);
        sd_event_source_disable_unref(d->scan_source);
        sd_event_source_disable_unref(d->settle_source);
        safe_close(d->inotify_fd);
        safe_close(d->dir_fd);
        current_done(&d->current);
        tracks_clear(d);
        drop_seen_free(d->seen);
        drop_seen_free(d->kept);
        sd_event_unref(d->event);
        free(d->path);
        free(d);
        return NULL;
}

int dropdir_new(sd_event *event, const DropDirOptions *options, DropDir **ret) {
        _cleanup_(dropdir_freep) DropDir *d = NULL;
        int r;

        if (!event || !options || isempty(options->path) || !ret)
                return -EINVAL;

        d = calloc(1, sizeof(DropDir));
        if (!d)
                return -ENOMEM;
        d->dir_fd = d->inotify_fd = d->wd = -1;
        d->event = sd_event_ref(event);
        d->path = strdup(options->path);
        if (!d->path)
                return -ENOMEM;
        d->settle_usec = options->settle_usec;
        d->max_file_size = options->max_file_size > 0 ? options->max_file_size : 1024 * 1024;
        d->on_bundle = options->on_bundle;
        d->on_rejected = options->on_rejected;
        d->on_ignored = options->on_ignored;
        d->userdata = options->userdata;

        r = drop_seen_load(options->state_file, &d->seen);
        if (r < 0)
                return r;
        r = drop_seen_load(NULL, &d->kept);
        if (r < 0)
                return r;

        d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->inotify_fd < 0)
                return negative_errno();

        r = setup_directory(d);
        if (r < 0)
                return r;

        r = sd_event_add_io(event, &d->io_source, d->inotify_fd, EPOLLIN, on_inotify, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->io_source, "dropdir-inotify");

        /* Lower priority than the inotify source: every queued event is read before a scan. */
        r = sd_event_add_defer(event, &d->scan_source, on_scan, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(d->scan_source, SD_EVENT_PRIORITY_NORMAL + 10);
        (void) sd_event_source_set_description(d->scan_source, "dropdir-scan");

        r = sd_event_add_time(event, &d->settle_source, CLOCK_MONOTONIC, UINT64_MAX, 0, on_settle, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(d->settle_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(d->settle_source, "dropdir-settle");

        /* The scan at start, from the loop, so callbacks never run inside dropdir_new(). */
        r = request_scan(d);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(d);
        return 0;
}

int dropdir_bundle_done(DropDir *d, const char *error_name, const char *message) {
        Current *c;
        int r = 0, pinned;

        if (!d)
                return -EINVAL;
        if (!d->busy)
                return -ESTALE;
        c = &d->current;
        pinned = dir_pin(d);
        if (pinned < 0) {
                /* The directory is gone (or unsafe now): nothing to remove; not handed out again by us. */
                (void) drop_seen_add(d->kept, error_name ? DROP_SEEN_REJECTED : DROP_SEEN_INSTALLED,
                                     c->bundle.content_hash);
                goto finish;
        }

        if (!error_name) {
                /* Removed: a drop of the same content later is a new request. Kept: remembered. */
                int k = c->kubelet ? -EROFS : remove_files(d->dir_fd, c->paths, c->lst);
                if (k < 0) {
                        r = remember(d, DROP_SEEN_INSTALLED, c->bundle.content_hash);
                        (void) drop_seen_add(d->kept, DROP_SEEN_INSTALLED, c->bundle.content_hash);
                }
        } else {
                int k = c->kubelet ? -EROFS : move_to_rejected(d->dir_fd, c->bundle.name, c->paths, c->lst,
                                                               error_name, message ?: "");
                if (k < 0) {
                        r = remember(d, DROP_SEEN_REJECTED, c->bundle.content_hash);
                        (void) drop_seen_add(d->kept, DROP_SEEN_REJECTED, c->bundle.content_hash);
                }
        }
        dir_unpin(d, pinned);

finish:
        current_done(c);
        d->busy = false;
        (void) request_scan(d);
        return r;
}

uint64_t dropdir_get_overflows(DropDir *d) {
        return d ? d->n_overflows : 0;
}

const char *dropdir_get_path(DropDir *d) {
        return d ? d->path : NULL;
}
