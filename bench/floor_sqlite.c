/* floor_sqlite: the single-thread SQLite floor of pipectl's sqlite source.
 *
 *   floor_sqlite DB [--mmap-mb 256]
 *
 * Opens DB read-only (NOMUTEX, PRAGMA mmap_size as the source), and in one read
 * transaction steps the source's default query and its DNS list query
 * (plugins/sqlite_source/spec.cpp) in a plain loop that touches every column
 * of every row: integers and reals are summed, texts' lengths and first bytes
 * are summed. Nothing is stored. Prints one JSON object with the row counts,
 * the wall and CPU seconds (open to close) and a checksum. */
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char* const kQuery =
    "select s.sessionid, s.srcport, s.dstport, s.lensum as bytes, s.pktcount as packets, s.starttime, "
    "s.endtime, d.manufacturer, d.device_type "
    "from sessions s inner join v_session_mnf_devicetype d on s.sessionid = d.sessionid "
    "where d.device_type is not null order by s.sessionid";
static const char* const kListQuery = "select q.sessionid, q.qname from dns_queries q order by q.sessionid";

struct Sums {
  int64_t ints;
  double reals;
  int64_t text_bytes;
  int64_t nulls;
};

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static void die(sqlite3* db, const char* what) {
  fprintf(stderr, "floor_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
  exit(1);
}

/* Step `sql` to the end, touching every column; returns the rows. */
static int64_t scan(sqlite3* db, const char* sql, struct Sums* s) {
  sqlite3_stmt* st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die(db, "prepare");
  const int ncol = sqlite3_column_count(st);
  int64_t rows = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (int c = 0; c < ncol; ++c) {
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER: s->ints += sqlite3_column_int64(st, c); break;
        case SQLITE_FLOAT: s->reals += sqlite3_column_double(st, c); break;
        case SQLITE_TEXT: {
          const unsigned char* t = sqlite3_column_text(st, c);
          const int n = sqlite3_column_bytes(st, c);
          s->text_bytes += n + (n > 0 ? t[0] : 0);
          break;
        }
        case SQLITE_NULL: s->nulls += 1; break;
        default: s->text_bytes += sqlite3_column_bytes(st, c); break;
      }
    }
    ++rows;
  }
  if (rc != SQLITE_DONE) die(db, "step");
  sqlite3_finalize(st);
  return rows;
}

int main(int argc, char** argv) {
  const char* path = NULL;
  long mmap_mb = 256;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--mmap-mb") == 0 && i + 1 < argc) {
      mmap_mb = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf("usage: floor_sqlite DB [--mmap-mb N]\n");
      return 0;
    } else if (!path) {
      path = argv[i];
    } else {
      fprintf(stderr, "usage: floor_sqlite DB [--mmap-mb N]\n");
      return 2;
    }
  }
  if (!path) {
    fprintf(stderr, "usage: floor_sqlite DB [--mmap-mb N]\n");
    return 2;
  }

  struct Sums s = {0, 0.0, 0, 0};
  const double t0 = now(), c0 = cpu();
  sqlite3* db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) die(db, "open");
  char pragma[64];
  snprintf(pragma, sizeof pragma, "PRAGMA mmap_size=%lld", (long long)mmap_mb * 1024 * 1024);
  if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) die(db, "pragma");
  if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) die(db, "begin");
  const int64_t rows = scan(db, kQuery, &s);
  const double t1 = now();
  const int64_t list_rows = scan(db, kListQuery, &s);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(db);
  const double t2 = now(), c2 = cpu();

  printf("{\"rows\": %lld, \"list_rows\": %lld, \"query_s\": %.6f, \"list_s\": %.6f, \"seconds\": %.6f, \"cpu_s\": %.6f, "
         "\"checksum\": {\"ints\": %lld, \"reals\": %.17g, \"text_bytes\": %lld, \"nulls\": %lld}, "
         "\"sqlite\": \"%s\"}\n",
         (long long)rows, (long long)list_rows, t1 - t0, t2 - t1, t2 - t0, c2 - c0, (long long)s.ints, s.reals,
         (long long)s.text_bytes, (long long)s.nulls, sqlite3_libversion());
  return 0;
}
