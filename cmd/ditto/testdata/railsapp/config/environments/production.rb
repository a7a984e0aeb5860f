Rails.application.configure do
  # as a generated app has it: production never rewrites db/schema.rb
  config.active_record.dump_schema_after_migration = false
end
