/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The signing-request part of org.vertex.Certificates; bus-api.c puts these in its vtable. */

#include <systemd/sd-bus.h>

int bus_method_create_signing_request(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_method_cancel_signing_request(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_property_get_pending_requests(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error);
