// One schema for both backends: only portable types (Text, BigInt, Bool, Timestamp in UTC).

diesel::table! {
    units (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        level -> Text,
        kind -> Nullable<Text>,
        name -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    people (id) {
        id -> Text,
        name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        title -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        person_id -> Text,
        unit_id -> Text,
        role -> Text,
        is_primary -> Bool,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        batch_id -> Nullable<Text>,
    }
}

diesel::joinable!(assignments -> people (person_id));
diesel::joinable!(assignments -> units (unit_id));

diesel::allow_tables_to_appear_in_same_query!(units, people, assignments, events);
