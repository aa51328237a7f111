/* check_rt.c - the runtime registry over a temporary RootFS directory
 * (only the JSON files and links; no real RootFS is needed). */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_test.h"

const char fixture_minimal_json[] =
	"{\"template\": \"minimal\", \"runtimes\": ["
	"{\"name\": \"python\", \"aliases\": [\"python3\", \"py\"], \"version\": \"3.11.2\","
	" \"file\": \"main.py\", \"run\": [\"python3\", \"{file}\"],"
	" \"handler\": [\"python3\", \"/opt/sandbox/shims/handler.py\", \"{handler}\", \"{event}\", \"{result}\"],"
	" \"limits\": {\"memory_mb\": 512}, \"imports\": [\"json\"]},"
	"{\"name\": \"node\", \"aliases\": [\"javascript\", \"js\"], \"version\": \"18.19.0\","
	" \"file\": \"main.js\", \"run\": [\"node\", \"{file}\"],"
	" \"handler\": [\"node\", \"/opt/sandbox/shims/handler.js\", \"{handler}\", \"{event}\", \"{result}\"]},"
	"{\"name\": \"bash\", \"aliases\": [\"shell\", \"sh\"], \"version\": \"5.2.15\","
	" \"file\": \"main.sh\", \"run\": [\"bash\", \"{file}\"]}"
	"]}";

const char fixture_compilers_json[] =
	"{\"template\": \"compilers\", \"runtimes\": ["
	"{\"name\": \"c\", \"aliases\": [], \"version\": \"12.2.0\", \"file\": \"main.c\","
	" \"compile\": {\"argv\": [\"gcc\", \"-O2\", \"-o\", \"main\", \"{file}\", \"-lm\"],"
	"              \"limits\": {\"wall_time_ms\": 30000, \"memory_mb\": 512}},"
	" \"run\": [\"./main\"]},"
	"{\"name\": \"python\", \"version\": \"3.11.2\", \"file\": \"main.py\", \"run\": [\"python3\", \"{file}\"]}"
	"]}";

void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(content);
	ck_assert_msg(fd >= 0, "open %s", path);
	ck_assert_int_eq(write(fd, content, n), (ssize_t)n);
	close(fd);
}

void fixture_template(const char *dir, const char *tmpl, const char *version,
                      const char *runtimes_json)
{
	char p[4096], link[4096];

	snprintf(p, sizeof p, "%s/%s", dir, tmpl);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/%s/%s", dir, tmpl, version);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/%s/%s/tree", dir, tmpl, version);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/%s/%s/runtimes.json", dir, tmpl, version);
	write_file(p, runtimes_json);
	snprintf(p, sizeof p, "%s/%s/%s/manifest.json", dir, tmpl, version);
	write_file(p, "{\"hash\": \"sha256:abc\", \"template\": \"x\"}");
	/* Switched the way build-rootfs.sh does it: a new link renamed over. */
	snprintf(p, sizeof p, "%s/%s/current.new", dir, tmpl);
	snprintf(link, sizeof link, "%s/%s/current", dir, tmpl);
	unlink(p);
	ck_assert_int_eq(symlink(version, p), 0);
	ck_assert_int_eq(rename(p, link), 0);
}

void fixture_make(char *dir, struct rt_registry *reg)
{
	char msg[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fixture_template(dir, "minimal", "v1", fixture_minimal_json);
	fixture_template(dir, "compilers", "v1", fixture_compilers_json);
	ck_assert_msg(rt_registry_load(dir, reg, msg, sizeof msg) == 0, "load: %s", msg);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

void fixture_remove(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char dir[64];
static struct rt_registry reg;

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check-api-XXXXXX");
	fixture_make(dir, &reg);
}

static void teardown(void)
{
	rt_registry_free(&reg);
	fixture_remove(dir);
}

START_TEST(load_templates)
{
	ck_assert_uint_eq(reg.ntemplates, 2);
	ck_assert_str_eq(reg.templates[0].name, "compilers");   /* sorted */
	const struct rt_template *t = rt_find_template(&reg, "minimal");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->nruntimes, 3);
	ck_assert_str_eq(t->manifest_hash, "sha256:abc");
	ck_assert_str_eq(t->link_target, "v1");
	ck_assert_ptr_nonnull(strstr(t->tree, "/minimal/v1/tree"));
	ck_assert_ptr_null(rt_find_template(&reg, "nope"));
	const struct rt_runtime *py = rt_find_runtime(t, "python");
	ck_assert_uint_eq(py->limits.memory_mb, 512);
	ck_assert_str_eq(py->handler_argv[2], "{handler}");
	const struct rt_runtime *c = rt_find_runtime(rt_find_template(&reg, "compilers"), "c");
	ck_assert_str_eq(c->compile_argv[0], "gcc");
	ck_assert_uint_eq(c->compile_limits.wall_time_ms, 30000);
	ck_assert_ptr_null(c->handler_argv);
}
END_TEST

START_TEST(find_by_alias_and_version)
{
	const struct rt_template *t = rt_find_template(&reg, "minimal");
	const char *py[] = { "python", "python3", "py", "python:3", "python:3.11", "python:3.11.2",
	                     "py:3.11" };
	for (size_t i = 0; i < sizeof py / sizeof *py; i++)
		ck_assert_msg(rt_find_runtime(t, py[i]) == &t->runtimes[0], "%s", py[i]);
	ck_assert_ptr_eq(rt_find_runtime(t, "javascript"), &t->runtimes[1]);
	ck_assert_ptr_eq(rt_find_runtime(t, "js:18"), &t->runtimes[1]);
	ck_assert_ptr_eq(rt_find_runtime(t, "shell"), &t->runtimes[2]);
	ck_assert_ptr_eq(rt_find_runtime(t, "sh"), &t->runtimes[2]);
	const char *none[] = { "python:3.1", "python:2", "python:3.11.2.1", "python:", "python:3.",
	                       "python:.3", "python:3..11", "pyth", "Python", "c", "", "python::3" };
	for (size_t i = 0; i < sizeof none / sizeof *none; i++)
		ck_assert_msg(rt_find_runtime(t, none[i]) == NULL, "%s matched", none[i]);
}
END_TEST

START_TEST(refresh_follows_link)
{
	const char *v2 = "{\"runtimes\": [{\"name\": \"ruby\", \"version\": \"3.1\","
	                 " \"file\": \"main.rb\", \"run\": [\"ruby\", \"{file}\"]}]}";
	char msg[512];

	/* Unchanged link: the same entry is kept (no re-read). */
	const struct rt_runtime *before = rt_find_runtime(rt_find_template(&reg, "minimal"), "python");
	ck_assert_int_eq(rt_registry_refresh(&reg, msg, sizeof msg), 0);
	ck_assert_ptr_eq(rt_find_runtime(rt_find_template(&reg, "minimal"), "python"), before);
	fixture_template(dir, "minimal", "v2", v2);
	ck_assert_int_eq(rt_registry_refresh(&reg, msg, sizeof msg), 0);
	const struct rt_template *t = rt_find_template(&reg, "minimal");
	ck_assert_str_eq(t->link_target, "v2");
	ck_assert_ptr_nonnull(rt_find_runtime(t, "ruby"));
	ck_assert_ptr_null(rt_find_runtime(t, "python"));
	/* A new template appears; a template whose current is gone disappears. */
	fixture_template(dir, "extra", "v1", "{\"runtimes\": [{\"name\": \"x\", \"version\": \"1\","
	                 " \"file\": \"x\", \"run\": [\"x\"]}]}");
	char p[128];
	snprintf(p, sizeof p, "%s/compilers/current", dir);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(rt_registry_refresh(&reg, msg, sizeof msg), 0);
	ck_assert_ptr_nonnull(rt_find_template(&reg, "extra"));
	ck_assert_ptr_null(rt_find_template(&reg, "compilers"));
}
END_TEST

START_TEST(refresh_keeps_old_on_bad_version)
{
	char msg[512];
	fixture_template(dir, "minimal", "v2", "{\"runtimes\": [{\"name\": \"x\"}]}");
	ck_assert_int_eq(rt_registry_refresh(&reg, msg, sizeof msg), -1);
	ck_assert_ptr_nonnull(strstr(msg, "minimal/v2/runtimes.json: runtimes[0].version"));
	const struct rt_template *t = rt_find_template(&reg, "minimal");
	ck_assert_str_eq(t->link_target, "v1");
	ck_assert_ptr_nonnull(rt_find_runtime(t, "python"));
}
END_TEST

/* Each malformed runtimes.json gives a message naming the file and key. */
START_TEST(malformed_files)
{
	static const char *const cases[][2] = {
		{ "not json", "invalid JSON at line 1" },
		{ "[]", "(top)" },
		{ "{\"runtimes\": []}", "runtimes: must be a non-empty array" },
		{ "{\"template\": \"other\", \"runtimes\": []}", "template: must be a string equal" },
		{ "{\"runtimes\": [1]}", "runtimes[0]: must be an object" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\"}]}", "runtimes[0].run: is required" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\", \"run\": []}]}", "runtimes[0].run: must be an array of 1 to 32" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\", \"run\": [1]}]}", "runtimes[0].run: must contain only strings" },
		{ "{\"runtimes\": [{\"name\": \"P:x\", \"version\": \"1\", \"file\": \"m\", \"run\": [\"p\"]}]}", "runtimes[0].name: must match" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": 3, \"file\": \"m\", \"run\": [\"p\"]}]}", "runtimes[0].version: must be a non-empty string" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"../m\", \"run\": [\"p\"]}]}", "runtimes[0].file: must be a relative path" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\", \"run\": [\"p\"], \"limits\": {\"memroy_mb\": 5}}]}", "runtimes[0].limits.memroy_mb: unknown limit" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\", \"run\": [\"p\"], \"limits\": {\"memory_mb\": -5}}]}", "runtimes[0].limits.memory_mb: must be a positive integer" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\", \"run\": [\"p\"], \"compile\": {}}]}", "runtimes[0].compile.argv: is required" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"version\": \"1\", \"file\": \"m\", \"run\": [\"p\"], \"aliases\": [\"A B\"]}]}", "runtimes[0].aliases: aliases must match" },
		{ "{\"runtimes\": [{\"name\": \"p\", \"name\": \"q\"}]}", "duplicate object key" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char d[64], msg[512];
		struct rt_registry r;
		snprintf(d, sizeof d, "/tmp/check-api-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(d));
		fixture_template(d, "bad", "v1", cases[i][0]);
		ck_assert_int_eq(rt_registry_load(d, &r, msg, sizeof msg), -1);
		ck_assert_msg(strstr(msg, "/bad/v1/runtimes.json") && strstr(msg, cases[i][1]),
		              "case %zu: '%s' lacks '%s'", i, msg, cases[i][1]);
		fixture_remove(d);
	}
}
END_TEST

START_TEST(empty_base)
{
	char d[64] = "/tmp/check-api-XXXXXX", msg[512];
	struct rt_registry r;
	ck_assert_ptr_nonnull(mkdtemp(d));
	ck_assert_int_eq(rt_registry_load(d, &r, msg, sizeof msg), -1);
	ck_assert_ptr_nonnull(strstr(msg, "no template"));
	fixture_remove(d);
	ck_assert_int_eq(rt_registry_load("/nonexistent-dir-xyz", &r, msg, sizeof msg), -1);
	ck_assert_ptr_nonnull(strstr(msg, "/nonexistent-dir-xyz"));
}
END_TEST

START_TEST(registry_json)
{
	json_t *j = rt_registry_json(&reg);
	json_t *ts = json_object_get(j, "templates");
	ck_assert_uint_eq(json_array_size(ts), 2);
	json_t *m = json_array_get(ts, 1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "minimal");
	ck_assert_str_eq(json_string_value(json_object_get(m, "version")), "v1");
	ck_assert_str_eq(json_string_value(json_object_get(m, "manifest_hash")), "sha256:abc");
	json_t *py = json_array_get(json_object_get(m, "runtimes"), 0);
	ck_assert(json_is_true(json_object_get(py, "handler")));
	ck_assert(json_is_false(json_object_get(py, "compile")));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(py, "aliases"), 1)), "py");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(py, "limits"), "memory_mb")), 512);
	json_decref(j);
}
END_TEST

Suite *rt_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, load_templates);
	tcase_add_test(tc, find_by_alias_and_version);
	tcase_add_test(tc, refresh_follows_link);
	tcase_add_test(tc, refresh_keeps_old_on_bad_version);
	tcase_add_test(tc, malformed_files);
	tcase_add_test(tc, empty_base);
	tcase_add_test(tc, registry_json);
	suite_add_tcase(s, tc);
	return s;
}
