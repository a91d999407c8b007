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

diesel::table! {
    workflows (id, version) {
        id -> Text,
        version -> Text,
        title -> Text,
        content_hash -> Text,
        source -> Text,
        file_name -> Text,
        loaded_at -> Timestamp,
        loaded_by -> Text,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        title -> Text,
        workflow_id -> Text,
        workflow_version -> Text,
        root_unit_id -> Text,
        timezone -> Text,
        anchors_json -> Text,
        unit_anchors_json -> Text,
        params_json -> Text,
        status -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        campaign_id -> Nullable<Text>,
        kind -> Text,
        stage_id -> Nullable<Text>,
        step_id -> Nullable<Text>,
        unit_id -> Text,
        occurrence -> BigInt,
        title -> Text,
        owner_role -> Nullable<Text>,
        owner_id -> Nullable<Text>,
        status -> Text,
        opens_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        due_after -> Nullable<Text>,
        statutory -> Bool,
        record_json -> Nullable<Text>,
        evidence_json -> Nullable<Text>,
        findings_json -> Nullable<Text>,
        note -> Nullable<Text>,
        status_reason -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        completed_by -> Nullable<Text>,
        revision -> BigInt,
        created_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    task_comments (id) {
        id -> Text,
        task_id -> Text,
        author -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        kind -> Text,
        recipient_id -> Nullable<Text>,
        campaign_id -> Nullable<Text>,
        task_id -> Nullable<Text>,
        subject -> Text,
        payload_json -> Text,
        status -> Text,
        attempts -> BigInt,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        person_id -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_roles (id) {
        id -> Text,
        user_id -> Text,
        role -> Text,
        unit_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> BigInt,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(tasks -> campaigns (campaign_id));
diesel::joinable!(tasks -> units (unit_id));
diesel::joinable!(tasks -> people (owner_id));
diesel::joinable!(task_comments -> tasks (task_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(users -> people (person_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    people,
    assignments,
    events,
    workflows,
    campaigns,
    tasks,
    task_comments,
    notifications,
    users,
    user_roles,
    sessions,
    api_tokens,
    password_resets,
    login_throttle,
);
