DROP TABLE notifications;
DROP TABLE task_comments;
DROP TABLE tasks;
DROP TABLE campaigns;
DROP TABLE workflows;
