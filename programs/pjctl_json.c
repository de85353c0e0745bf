/*
 * pjctl_json.c - protobuf messages <-> JSON objects with jansson, driven by
 * the generated descriptors (every field by its .proto name; 64-bit
 * integers as JSON integers; bytes as their length).
 */
#include <stdio.h>
#include <string.h>

#include "programs/pjctl.h"

static json_t *
scalar(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *) p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *) p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *) p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *) p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *) p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *) p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *) p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v
		    = protobuf_c_enum_descriptor_get_value(
		        f->descriptor, *(const int *) p);
		return v ? json_string(v->name)
		         : json_integer(*(const int *) p);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *) p;
		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES:
		return json_integer(
		    (json_int_t) ((const ProtobufCBinaryData *) p)->len);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
		return m ? pjctl_pb_to_json(m) : json_null();
	}
	}
	return json_null();
}

static size_t
elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

json_t *
pjctl_pb_to_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t                           *o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *) m + f->offset;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *) ((const char *) m
			    + f->quantifier_offset);
			if (which != f->id) {
				continue;
			}
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t      n = *(const size_t *) ((const char *) m
                            + f->quantifier_offset);
			const char *v = *(char *const *) p;
			json_t     *a = json_array();
			for (size_t k = 0; k < n; k++) {
				json_array_append_new(
				    a, scalar(f, v + k * elem_size(f)));
			}
			json_object_set_new(o, f->name, a);
		} else {
			json_object_set_new(o, f->name, scalar(f, p));
		}
	}
	return (o);
}

int
pjctl_json_to_pb(json_t *obj, ProtobufCMessage *m, char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char                       *key;
	json_t                           *v;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "expected a JSON object");
		return (-1);
	}
	json_object_foreach(obj, key, v)
	{
		const ProtobufCFieldDescriptor *f
		    = protobuf_c_message_descriptor_get_field_by_name(d, key);
		char *p;
		if (f == NULL) {
			snprintf(err, errlen, "%s: no such field in %s", key,
			    d->name);
			return (-1);
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED
		    || f->type == PROTOBUF_C_TYPE_MESSAGE
		    || f->type == PROTOBUF_C_TYPE_BYTES) {
			continue; /* not in the messages read this way */
		}
		p = (char *) m + f->offset;
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING:
			if (!json_is_string(v)) {
				goto type;
			}
			*(const char **) p = json_string_value(v);
			break;
		case PROTOBUF_C_TYPE_BOOL:
			if (!json_is_boolean(v)) {
				goto type;
			}
			*(protobuf_c_boolean *) p = json_is_true(v);
			break;
		case PROTOBUF_C_TYPE_DOUBLE:
			if (!json_is_number(v)) {
				goto type;
			}
			*(double *) p = json_number_value(v);
			break;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
			if (!json_is_integer(v)) {
				goto type;
			}
			*(int64_t *) p = json_integer_value(v);
			break;
		default:
			if (!json_is_integer(v)) {
				goto type;
			}
			*(int32_t *) p = (int32_t) json_integer_value(v);
			break;
		}
		continue;
	type:
		snprintf(err, errlen, "%s: wrong JSON type", key);
		return (-1);
	}
	return (0);
}

void
pjctl_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}
