/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The serving check of a reloaded unit (reload-check.c). */

#include "reload-unit.h"

/* The unit's job is done: check each of its addresses, or finish it when there is none to check. */
void unit_verify(UnitReload *u);
/* Decides the unit once its checks say enough (also at the deadline). */
void unit_check_verified(UnitReload *u);
