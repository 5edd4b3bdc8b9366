/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* time-util: the day counts monitoring reads, and when they change. */

#include <glib.h>

#include "time-util.h"

#define DAY USEC_PER_DAY
#define NOT_AFTER (20000 * DAY + 12345)

static void test_days_left_signed(void) {
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER - 3 * DAY), ==, 3);
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER - 3 * DAY + 1), ==, 2);
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER - 1), ==, 0);
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER), ==, 0);
        /* Expired: -1 from the first µs on, -2 once a whole day has passed. */
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER + 1), ==, -1);
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER + DAY), ==, -1);
        g_assert_cmpint(days_left_signed(NOT_AFTER, NOT_AFTER + DAY + 1), ==, -2);
}

/* For every now, the count is the same up to the change and different at it. */
static void assert_change(uint64_t now) {
        uint64_t at = days_left_changes_at(NOT_AFTER, now);

        g_assert_cmpuint(at, >, now);
        g_assert_cmpuint(at - now, <=, DAY);
        g_assert_cmpint(days_left_signed(NOT_AFTER, at - 1), ==, days_left_signed(NOT_AFTER, now));
        g_assert_cmpint(days_left_signed(NOT_AFTER, at), ==, days_left_signed(NOT_AFTER, now) - 1);
}

static void test_changes_at(void) {
        static const int64_t offsets[] = {
                -90 * (int64_t) DAY, -3 * (int64_t) DAY - 1, -3 * (int64_t) DAY, -3 * (int64_t) DAY + 1,
                -(int64_t) DAY, -1, 0, 1, (int64_t) DAY - 1, (int64_t) DAY, (int64_t) DAY + 1, 400 * (int64_t) DAY + 7,
        };

        for (size_t i = 0; i < G_N_ELEMENTS(offsets); i++)
                assert_change((uint64_t) ((int64_t) NOT_AFTER + offsets[i]));
        g_assert_cmpuint(days_left_changes_at(NOT_AFTER, NOT_AFTER - 3 * DAY + 1), ==, NOT_AFTER - 2 * DAY + 1);
        g_assert_cmpuint(days_left_changes_at(NOT_AFTER, NOT_AFTER), ==, NOT_AFTER + 1);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/time-util/days-left-signed", test_days_left_signed);
        g_test_add_func("/time-util/changes-at", test_changes_at);
        return g_test_run();
}
