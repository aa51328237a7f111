/* api_test.h - suites of check_api and the fixture they share. */
#ifndef SANDBOX_API_TEST_H
#define SANDBOX_API_TEST_H

#include <check.h>

#include "api/req.h"
#include "api/resp.h"
#include "api/rt.h"

Suite *paths_suite(void);
Suite *words_suite(void);
Suite *utf8_suite(void);
Suite *rt_suite(void);
Suite *req_suite(void);
Suite *bad_suite(void);
Suite *resp_suite(void);
Suite *mem_suite(void);
Suite *common_suite(void);
Suite *stream_suite(void);

/* A RootFS directory in /tmp with templates "minimal" (python, node, bash)
 * and "compilers" (c, python); no trees, only the JSON files. */
extern const char fixture_minimal_json[];
extern const char fixture_compilers_json[];
/* Creates dir (mkdtemp template "/tmp/check-api-XXXXXX") and loads *reg. */
void fixture_make(char *dir, struct rt_registry *reg);
/* Writes <dir>/<tmpl>/<version>/{runtimes.json,manifest.json,tree/} and
 * points <dir>/<tmpl>/current at <version>. */
void fixture_template(const char *dir, const char *tmpl, const char *version,
                      const char *runtimes_json);
void fixture_remove(const char *dir);
void write_file(const char *path, const char *content);

#endif
